// The desk face's JSON shapes (specs/desk.md), shared by its REST routes and its Socket.IO
// events. Images are absolute URLs, as the original served them.
import type { DeskMessage } from "@/lib/desk.ts";
import type { Message, Room, User } from "@/lib/records.ts";
import { iso } from "@/routes/json.ts";

export const DEFAULT_AVATAR = "/static/avatar.svg";

/** An absolute URL for a stored image path (or the default avatar). */
export function absoluteImage(image: string, base: string): string {
  if (/^https?:\/\//i.test(image)) return image;
  return new URL(image || DEFAULT_AVATAR, base).href;
}

export function deskUser(user: User, base: string) {
  return {
    id: user.id,
    first_name: user.firstName,
    last_name: user.lastName,
    email: user.email ?? "",
    image: absoluteImage(user.image, base),
  };
}

/** The room as GET /api/room/ lists it; `people` must hold its student and teacher. */
export function deskRoom(room: Room, people: Map<number, User>, base: string) {
  const student = room.createdBy === null ? undefined : people.get(room.createdBy);
  const teacher = room.teacherId === null ? undefined : people.get(room.teacherId);
  return {
    id: room.id,
    student: student ? deskUser(student, base) : null,
    teacher: teacher ? deskUser(teacher, base) : null,
    status: room.status,
    timestamp: iso(room.createdAt),
    text: room.topic,
    image: room.topicImage,
  };
}

export function deskMessage(message: DeskMessage) {
  return {
    id: message.id,
    text: message.text,
    image: message.image,
    seen: message.seen,
    timestamp: iso(message.createdAt),
    room: message.roomId,
    user: message.authorId,
  };
}

/** The `message` event: what was said, by whom, where and when. */
export function deskMessageEvent(message: Message) {
  return {
    id: message.id,
    text: message.text,
    image: message.image,
    timestamp: iso(message.createdAt),
    user: message.authorId,
    room: message.roomId,
  };
}

/** The ids of everyone a list of rooms mentions. */
export function peopleOf(rooms: Room[]): number[] {
  const ids = new Set<number>();
  for (const room of rooms) {
    if (room.createdBy !== null) ids.add(room.createdBy);
    if (room.teacherId !== null) ids.add(room.teacherId);
  }
  return [...ids];
}
