// Domain events the core publishes after a change is committed. Faces subscribe through the
// hub (realtime/hub.ts) and render them into their own wire formats.
import type { Attachment, Member, Message, Room, User } from "./records.ts";
import type { Signal } from "./signals.ts";

export type DomainEvent =
  /** `author` as they were when the message was stored, so faces render without a lookup. */
  | {
    type: "message.created";
    message: Message;
    author: User;
    /** The message's attachment with a working URL, when it has one. */
    attachment?: Attachment;
  }
  | { type: "read.updated"; roomId: number; userId: number; lastReadId: number }
  | { type: "room.created"; room: Room }
  | { type: "room.updated"; room: Room }
  /** A desk room moved on (active → engaged → closed); `teacher` holds it. */
  | { type: "room.status"; room: Room; teacher: User | null }
  /** A desk room its student announces to the teachers (desk's new_room). */
  | { type: "room.announced"; room: Room; student: User; teacher: User | null }
  /** A signal between a room's connections (WebRTC); never stored. */
  | { type: "signal.relayed"; signal: Signal }
  /** Published to the room and to the member's own topic; `user` when the publisher had it. */
  | { type: "member.added"; member: Member; user?: User }
  | { type: "member.removed"; roomId: number; userId: number; user?: User }
  | { type: "user.updated"; user: User }
  | { type: "user.deactivated"; userId: number }
  | { type: "session.revoked"; userId: number; sessionId: string }
  | { type: "presence.changed"; userId: number; online: boolean }
  /** A connection of the user opened onto the room (every one: each tab says hello). */
  | { type: "room.joined"; roomId: number; userId: number }
  /** The user's last connection onto the room closed. */
  | { type: "room.left"; roomId: number; userId: number };

export type DomainEventType = DomainEvent["type"];

/** The one thing the core needs from the hub: a place to publish. */
export interface EventSink {
  publish(topic: string, event: DomainEvent): void;
}

export const topic = {
  room: (id: number) => `room:${id}`,
  user: (id: number) => `user:${id}`,
  role: (role: string) => `role:${role}`,
  /** Everyone connected, for user-list changes every face shows. */
  everyone: "all",
} as const;
