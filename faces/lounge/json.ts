// The lounge face's JSON shapes (specs/lounge.md), shared by its HTTP routes and its socket.
// Messages are listed in the same shape the socket sends them, without the `type`.
import type { Message, Room, User } from "@/lib/records.ts";
import { iso } from "@/routes/json.ts";

/**
 * A person's general information, as everyone may see it; `is_camera` (live's camera flag) is
 * beyond the document, so that one flag shows on every face that lists people.
 */
export function loungeUser(user: User, online: boolean) {
  return {
    user_id: user.id,
    first_name: user.firstName,
    last_name: user.lastName,
    is_online: online,
    is_camera: user.cameraOn,
  };
}

/** The signed-in user's own information. */
export function loungeProfile(user: User) {
  return {
    user_id: user.id,
    email: user.email ?? "",
    first_name: user.firstName,
    last_name: user.lastName,
  };
}

export function roomMessage(message: Message) {
  return {
    user_id: message.authorId,
    chat_room_id: message.roomId,
    message: message.text,
    timestamp: iso(message.createdAt),
  };
}

export function groupMessage(message: Message) {
  return {
    user_id: message.authorId,
    chat_group_id: message.roomId,
    message: message.text,
    timestamp: iso(message.createdAt),
  };
}

/** A bot-chat message, from the reader's side: `is_user` for their own. */
export function botMessage(message: Message, readerId: number) {
  return {
    is_user: message.authorId === readerId,
    message: message.text,
    timestamp: iso(message.createdAt),
  };
}

export function loungeGroup(room: Room, isMember: boolean) {
  return {
    chat_group_id: room.id,
    name: room.name ?? "",
    owner_id: room.createdBy,
    is_member: isMember,
  };
}
