// The meet face's JSON shapes (specs/meet.md), shared by its REST routes and its WebSocket.
import type { Message, User } from "@/lib/records.ts";
import { displayName } from "@/routes/wording.ts";
import { iso } from "@/routes/json.ts";

export function meetUser(user: User) {
  return { id: user.id, email: user.email ?? "", name: displayName(user) };
}

/** A chat message as the history lists it and the socket sends it. */
export function meetMessage(message: Message, author: User | undefined) {
  return {
    id: message.id,
    user: author ? meetUser(author) : null,
    content: message.text,
    created_at: iso(message.createdAt),
  };
}

/**
 * A chat message as the socket sends it: with the sender's `client_id` when it gave one, so that
 * the sender can match the broadcast (or a retry's answer) to what it sent.
 */
export function meetChatFrame(message: Message, author: User | undefined) {
  const frame = meetMessage(message, author);
  return message.clientId === null ? frame : { ...frame, client_id: message.clientId };
}
