// Group rooms: named, open rooms (chat or video) that anyone signed in may list, enter and talk
// in; only the creator may change or delete one (a soft delete). meet's rooms are these.
import type { Db } from "@/db/client.ts";
import type { RoomType } from "@/db/schema.ts";
import { listActiveGroups, updateGroup } from "@/db/groups.ts";
import { deleteMember, findRoomRow, insertMember, toRoom } from "@/db/rooms.ts";
import { NotFound, PermissionDenied } from "./errors.ts";
import { type EventSink, topic } from "./events.ts";
import type {
  HistoryPage,
  HistoryQuery,
  HistorySnapshot,
  Messages,
  SendResult,
  TimePageQuery,
  TimeWindowQuery,
} from "./messages.ts";
import type { Member, Message, Room } from "./records.ts";
import { checkGroupFields, requireActiveUser, type Rooms } from "./rooms.ts";

export interface GroupsDeps {
  db: Db;
  events: EventSink;
  rooms: Rooms;
  messages: Messages;
  now: () => number;
}

export interface RoomChanges {
  name?: string;
  description?: string;
}

export function createGroups(deps: GroupsDeps) {
  const { db, events, rooms, messages, now } = deps;

  /** An active group room, or NotFound (unknown, deleted, or another kind). */
  async function get(roomId: number): Promise<Room> {
    const row = await findRoomRow(db, roomId);
    if (!row || row.kind !== "group" || row.is_active !== 1) throw new NotFound();
    return toRoom(row);
  }

  async function list(filter: { roomType?: RoomType; search?: string } = {}): Promise<Room[]> {
    return (await listActiveGroups(db, filter)).map(toRoom);
  }

  function create(
    creatorId: number,
    input: { name: string; description?: string; roomType: RoomType },
  ): Promise<Room> {
    return rooms.createGroup({ creatorId, ...input });
  }

  async function ownRoom(roomId: number, userId: number, action: "update" | "delete") {
    const room = await get(roomId);
    if (room.createdBy !== userId) {
      throw new PermissionDenied(action === "update" ? "not_creator_update" : "not_creator_delete");
    }
    return room;
  }

  async function update(roomId: number, userId: number, changes: RoomChanges): Promise<Room> {
    await ownRoom(roomId, userId, "update");
    checkGroupFields(changes);
    if (changes.name === undefined && changes.description === undefined) return await get(roomId);
    const row = await updateGroup(db, roomId, {
      name: changes.name?.trim(),
      description: changes.description,
    });
    const room = toRoom(row!);
    events.publish(topic.room(roomId), { type: "room.updated", room });
    // Everyone sees the list of groups (lounge's group_chat_update), not only its members.
    events.publish(topic.everyone, { type: "room.updated", room });
    return room;
  }

  /** Soft delete: the room disappears for everyone and its connections are closed. */
  async function remove(roomId: number, userId: number): Promise<void> {
    await ownRoom(roomId, userId, "delete");
    const row = await updateGroup(db, roomId, { is_active: 0 });
    events.publish(topic.room(roomId), { type: "room.updated", room: toRoom(row!) });
  }

  /**
   * Anyone signed in may enter an active room; entering makes them a member. The first entry is
   * told to the room (its members) and to the newcomer's own topic (their connections start
   * listening to the room).
   */
  async function enter(roomId: number, userId: number): Promise<Room> {
    const room = await get(roomId);
    const at = now();
    if (await insertMember(db, roomId, userId, "member", at)) {
      const member: Member = { roomId, userId, role: "member", joinedAt: at, lastReadId: 0 };
      const user = await requireActiveUser(db, userId).catch(() => undefined);
      const event = { type: "member.added", member, user } as const;
      events.publish(topic.room(roomId), event);
      events.publish(topic.user(userId), event);
    }
    return room;
  }

  /**
   * Stops being a member (the creator too: the room stays theirs to rename or delete). Told to
   * the room first, while the leaver still listens, then to the leaver's own topic.
   */
  async function leave(roomId: number, userId: number): Promise<Room> {
    const room = await get(roomId);
    if (await deleteMember(db, roomId, userId)) {
      const user = await requireActiveUser(db, userId).catch(() => undefined);
      const event = { type: "member.removed", roomId, userId, user } as const;
      events.publish(topic.room(roomId), event);
      events.publish(topic.user(userId), event);
    }
    return room;
  }

  /** Whether the user is a member of the active group room (NotFound for no such room). */
  async function isMember(roomId: number, userId: number): Promise<boolean> {
    await get(roomId);
    return (await rooms.membership(roomId, userId)) !== undefined;
  }

  /** The members of an active group room, in the order they joined. */
  async function members(roomId: number): Promise<Member[]> {
    await get(roomId);
    return await rooms.members(roomId);
  }

  async function history(
    roomId: number,
    userId: number,
    query: HistoryQuery = {},
  ): Promise<HistoryPage> {
    await enter(roomId, userId);
    return await messages.history(roomId, userId, query);
  }

  /** The whole history, as a snapshot read in pages (Messages.historySnapshot). */
  async function historySnapshot(roomId: number, userId: number): Promise<HistorySnapshot> {
    await enter(roomId, userId);
    return await messages.historySnapshot(roomId, userId);
  }

  /** A page by time, as meet's original front-end reads it (Messages.historyByTime). */
  async function historyByTime(
    roomId: number,
    userId: number,
    query: TimePageQuery = {},
  ): Promise<Message[]> {
    await enter(roomId, userId);
    return await messages.historyByTime(roomId, userId, query);
  }

  /**
   * A page by time (Messages.pageByTime) for anyone signed in, member or not: groups are open
   * (anyone may enter), and reading does not enter. Lounge reads before it enters.
   */
  async function pageByTime(roomId: number, query: TimeWindowQuery): Promise<HistoryPage> {
    await get(roomId);
    return await messages.pageOfRoom(roomId, query);
  }

  async function send(
    roomId: number,
    userId: number,
    text: string,
    clientId?: string,
  ): Promise<SendResult> {
    await enter(roomId, userId);
    return await messages.send({ roomId, authorId: userId, text, clientId });
  }

  return {
    get,
    list,
    create,
    update,
    remove,
    enter,
    leave,
    isMember,
    members,
    history,
    historySnapshot,
    historyByTime,
    pageByTime,
    send,
  };
}

export type Groups = ReturnType<typeof createGroups>;
