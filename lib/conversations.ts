// Direct rooms as live runs them: a room is opened by its owner with an abonent, becomes the
// owner's current room (one at a time), counts as read when opened or selected, may be suspended
// (it then takes no messages until it is opened again), and is active once the abonent has
// answered. The rooms are the core's direct rooms: inbox and lounge show the same conversations.
import type { Db } from "@/db/client.ts";
import {
  answeredRooms,
  clearCurrentRoom,
  newestMessages,
  readPointers,
  setCurrentRoom,
  setDirectActive,
} from "@/db/direct.ts";
import { toMessage } from "@/db/messages.ts";
import { findRoomRow, toRoom } from "@/db/rooms.ts";
import { findUserRow } from "@/db/users.ts";
import { NotFound, PermissionDenied } from "./errors.ts";
import { type EventSink, topic } from "./events.ts";
import type { Messages, SendResult } from "./messages.ts";
import type { Presence } from "./presence.ts";
import { type Message, otherMember, type Room } from "./records.ts";
import type { Rooms } from "./rooms.ts";

export interface ConversationsDeps {
  db: Db;
  events: EventSink;
  rooms: Rooms;
  messages: Messages;
  presence: Presence;
}

/** A direct room as one of its two people sees it. */
export interface DirectView {
  room: Room;
  /** The other person. */
  otherId: number;
  /** It is the viewer's current room. */
  current: boolean;
  /** Not suspended, and the person it was opened with has answered. */
  active: boolean;
  /** Its newest messages, newest first; `read` when the person it was sent to has read it. */
  messages: (Message & { read: boolean })[];
}

/** Messages each room view carries (the newest ones). */
export const VIEW_MESSAGES = 20;

export function createConversations(deps: ConversationsDeps) {
  const { db, events, rooms, messages } = deps;

  /** The direct room `roomId` of `userId`: NotFound unless it is a direct room of theirs. */
  async function ownDirect(roomId: number, userId: number): Promise<Room> {
    const row = await findRoomRow(db, roomId);
    if (!row || row.kind !== "direct") throw new NotFound();
    const { room } = await rooms.requireMember(roomId, userId);
    return room;
  }

  async function resume(room: Room): Promise<Room> {
    if (room.isActive || !(await setDirectActive(db, room.id, true))) return room;
    const resumed = { ...room, isActive: true };
    events.publish(topic.room(room.id), { type: "room.updated", room: resumed });
    return resumed;
  }

  /**
   * Opens (or reopens) the owner's room with the abonent: created on first use, resumed when
   * suspended, made the owner's current room and read up to its newest message. Only the owner
   * may do this, or an admin for them.
   */
  async function open(callerId: number, ownerId: number, abonentId: number): Promise<Room> {
    if (callerId !== ownerId) {
      const caller = await findUserRow(db, callerId);
      if (caller?.role !== "admin") throw new PermissionDenied("not_owner");
    }
    const room = await resume(await rooms.direct(ownerId, abonentId));
    await setCurrentRoom(db, ownerId, room.id);
    await messages.markRead(room.id, ownerId);
    return room;
  }

  /** Makes one of the user's rooms their current room, and reads it. */
  async function select(roomId: number, userId: number): Promise<Room> {
    const room = await ownDirect(roomId, userId);
    await setCurrentRoom(db, userId, room.id);
    await messages.markRead(room.id, userId);
    return room;
  }

  /** Suspends a room: it is nobody's current room and takes no messages until reopened. */
  async function suspend(roomId: number, userId: number): Promise<void> {
    const room = await ownDirect(roomId, userId);
    await clearCurrentRoom(db, room.id);
    if (await setDirectActive(db, room.id, false)) {
      events.publish(topic.room(room.id), {
        type: "room.updated",
        room: { ...room, isActive: false },
      });
    }
  }

  /**
   * Sends into a direct room of the author. When the other person is online with this room as
   * their current one, they are reading it: the message counts as read for them.
   */
  async function send(roomId: number, authorId: number, text: string): Promise<SendResult> {
    const room = await ownDirect(roomId, authorId);
    const result = await messages.send({ roomId, authorId, text });
    const otherId = otherMember(room, authorId)!;
    if (!result.duplicate && deps.presence.isOnline(otherId)) {
      const other = await findUserRow(db, otherId);
      if (other?.current_room_id === room.id) {
        await messages.markRead(room.id, otherId, result.message.id);
      }
    }
    return result;
  }

  /** Rooms as `viewerId` sees them; `currentRoomId` is the viewer's current room. */
  async function views(
    list: Room[],
    viewerId: number,
    currentRoomId: number | null,
  ): Promise<DirectView[]> {
    const ids = list.map((r) => r.id);
    const [answered, rows, pointers] = await Promise.all([
      answeredRooms(db, ids),
      newestMessages(db, ids, VIEW_MESSAGES),
      readPointers(db, ids),
    ]);
    const readBy = new Map(pointers.map((p) => [`${p.room_id}:${p.user_id}`, p.last_read_id]));
    const roomsById = new Map(list.map((room) => [room.id, room]));
    const byRoom = new Map<number, (Message & { read: boolean })[]>();
    for (const row of rows) {
      const message = toMessage(row);
      // Read when the person it was sent to has read up to it.
      const reader = otherMember(roomsById.get(row.room_id)!, message.authorId);
      const read = message.id <= (readBy.get(`${row.room_id}:${reader}`) ?? 0);
      let messages = byRoom.get(row.room_id);
      if (!messages) byRoom.set(row.room_id, messages = []);
      messages.push({ ...message, read });
    }
    return list.map((room) => {
      const otherId = otherMember(room, viewerId)!;
      const messages = byRoom.get(room.id) ?? [];
      return {
        room,
        otherId,
        current: room.id === currentRoomId,
        active: room.isActive && answered.has(room.id),
        messages,
      };
    });
  }

  /** The user's direct rooms, most recently active first (at most `max`), as they see them. */
  async function list(userId: number, max: number): Promise<DirectView[]> {
    const user = await findUserRow(db, userId);
    if (!user) throw new NotFound("user");
    const all: Room[] = [];
    for await (const page of rooms.pagesForUser(userId, "direct", { max })) all.push(...page);
    return await views(all, userId, user.current_room_id);
  }

  /** One room as `viewerId` sees it. */
  async function view(roomId: number, viewerId: number): Promise<DirectView> {
    const row = await findRoomRow(db, roomId);
    if (!row) throw new NotFound();
    const viewer = await findUserRow(db, viewerId);
    const [shown] = await views([toRoom(row)], viewerId, viewer?.current_room_id ?? null);
    return shown;
  }

  return { open, select, suspend, send, list, view };
}

export type Conversations = ReturnType<typeof createConversations>;
