// The inbox face's JSON shapes (specs/inbox.md): users as the original's hyperlinked serializer
// wrote them, messages with their sender and receiver, conversations, and the socket frames.
import { type Attachment, type Message, otherMember, type Room, type User } from "@/lib/records.ts";
import { iso } from "@/routes/json.ts";

/** Where `GET /api/userauth/users/{id}/` answers for this user. */
export function userUrl(base: string, id: number): string {
  return `${base}/api/userauth/users/${id}/`;
}

/** An attachment's URL as clients fetch it: local paths are made absolute with `base`. */
export function attachmentUrl(base: string, attachment: Attachment): string {
  return attachment.url.startsWith("/") ? `${base}${attachment.url}` : attachment.url;
}

/** A user as every inbox payload shows one (Django auth groups are not kept: always empty). */
export function inboxUser(base: string, user: User) {
  return {
    url: userUrl(base, user.id),
    username: user.username,
    email: user.email ?? "",
    groups: [] as string[],
    is_active: user.isActive,
  };
}

/** A conversation's name: the two usernames, the one who opened it last, as the original. */
export function conversationName(room: Room, people: Map<number, User>): string {
  const [low, high] = room.pair!;
  const opener = room.createdBy === high ? high : low;
  const other = opener === low ? high : low;
  return `${people.get(other)?.username ?? ""}-${people.get(opener)?.username ?? ""}`;
}

/** A stored message with its two people; `multimedia_url` only when it has an attachment. */
export function inboxMessage(
  base: string,
  message: Message,
  room: Room,
  people: Map<number, User>,
  attachment?: Attachment,
) {
  const from = people.get(message.authorId);
  const to = people.get(otherMember(room, message.authorId)!);
  const shaped = {
    id: message.id,
    from_user: from ? inboxUser(base, from) : null,
    to_user: to ? inboxUser(base, to) : null,
    date_added: iso(message.createdAt),
    content: message.text,
  };
  return attachment ? { ...shaped, multimedia_url: attachmentUrl(base, attachment) } : shaped;
}

/**
 * The chat_message frame every conversation socket of both people gets. `room` is the receiver's
 * username: what the original echoed back from a sender that named its peer there.
 */
export function chatMessageFrame(
  base: string,
  message: Message,
  author: User,
  receiver: string,
  attachment?: Attachment,
): string {
  return JSON.stringify({
    type: "chat_message",
    id: message.id,
    message: message.text,
    multimedia_url: attachment ? attachmentUrl(base, attachment) : "",
    date_added: iso(message.createdAt),
    from_user: { username: author.username },
    room: receiver,
    ...(message.clientId === null ? {} : { client_id: message.clientId }),
  });
}
