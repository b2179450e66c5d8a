// Rooms of every kind and who may be in them. Faces ask here; they never decide.
import type { Db } from "@/db/client.ts";
import type { MemberRole, RoomKind, RoomType } from "@/db/schema.ts";
import {
  deleteMember,
  findDirectRoomRow,
  findMemberRow,
  findRoomRow,
  insertDirectRoomIfAbsent,
  insertMember,
  insertRoom,
  listMemberRows,
  listUserRoomPage,
  listUserRoomRows,
  type RoomCursor,
  toMember,
  toRoom,
} from "@/db/rooms.ts";
import { findUserRow, findUserRowByUsername, toUser } from "@/db/users.ts";
import { RESERVED_USERNAMES } from "./accounts.ts";
import { NotFound, PermissionDenied, problemList, ValidationError } from "./errors.ts";
import { type EventSink, topic } from "./events.ts";
import { LIMITS } from "./limits.ts";
import type { Member, Room, User } from "./records.ts";

export interface RoomsDeps {
  db: Db;
  events: EventSink;
  messageMaxLength: number;
  now: () => number;
}

export interface NewGroup {
  creatorId: number;
  name: string;
  description?: string;
  roomType: RoomType;
}

export interface NewDesk {
  studentId: number;
  text: string;
  image?: string;
}

/** The account, when it exists and is active; NotFound otherwise. */
export async function requireActiveUser(db: Db, id: number): Promise<User> {
  const row = await findUserRow(db, id);
  if (!row || row.is_active !== 1) throw new NotFound("user");
  return toUser(row);
}

/** The checks on a group's name and description, for creation and for changes. */
export function checkGroupFields(fields: { name?: string; description?: string }): void {
  const { add, problems } = problemList();
  if (fields.name !== undefined) {
    if (fields.name.trim().length === 0) add("name", { code: "blank" });
    else if (fields.name.length > LIMITS.roomName) {
      add("name", { code: "max_length", max: LIMITS.roomName });
    }
  }
  if (fields.description !== undefined && fields.description.length > LIMITS.roomDescription) {
    add("description", { code: "max_length", max: LIMITS.roomDescription });
  }
  ValidationError.check(problems);
}

export function createRooms(deps: RoomsDeps) {
  const { db, events, now } = deps;

  function announce(room: Room, memberIds: number[]) {
    for (const id of memberIds) events.publish(topic.user(id), { type: "room.created", room });
  }

  /**
   * The direct room of two users, created on first use. One row per pair, also when many
   * requests (or processes) ask at once: the write transaction serialises them and the
   * unique (user_low, user_high) index backs it.
   */
  async function direct(userId: number, otherId: number): Promise<Room> {
    if (userId === otherId) {
      throw ValidationError.of("user", { code: "self_chat" });
    }
    const [low, high] = userId < otherId ? [userId, otherId] : [otherId, userId];
    const existing = await findDirectRoomRow(db, low, high);
    if (existing) return toRoom(existing);
    await requireActiveUser(db, userId);
    await requireActiveUser(db, otherId);
    const at = now();
    const { row, created } = await db.transaction().execute(async (trx) => {
      const created = await insertDirectRoomIfAbsent(trx, low, high, userId, at);
      const row = (await findDirectRoomRow(trx, low, high))!;
      if (created) {
        await insertMember(trx, row.id, low, "member", at);
        await insertMember(trx, row.id, high, "member", at);
      }
      return { row, created };
    });
    const room = toRoom(row);
    if (created) announce(room, [low, high]);
    return room;
  }

  /**
   * The direct room of a user and the person named `username`, created on first use, with that
   * person. Unknown, deactivated and reserved names are NotFound; oneself is a ValidationError.
   */
  async function directByUsername(
    userId: number,
    username: string,
  ): Promise<{ room: Room; other: User }> {
    const row = RESERVED_USERNAMES.has(username.toLowerCase())
      ? undefined
      : await findUserRowByUsername(db, username);
    if (!row || row.is_active !== 1) throw new NotFound("user");
    const other = toUser(row);
    return { room: await direct(userId, other.id), other };
  }

  /**
   * A user's rooms (of one kind, or every kind), most recently active first, read `pageSize` at a time from
   * `after` on (a cursor from the last room of an earlier page), each page when it is used.
   */
  async function* pagesForUser(
    userId: number,
    kind: RoomKind | undefined,
    options: { after?: RoomCursor; pageSize?: number; max?: number } = {},
  ): AsyncGenerator<Room[]> {
    const pageSize = options.pageSize ?? LIMITS.historyStreamPage;
    let left = options.max ?? Infinity;
    let after = options.after;
    while (left > 0) {
      const limit = Math.min(pageSize, left);
      const rows = await listUserRoomPage(db, userId, kind, { after, limit });
      if (rows.length > 0) yield rows.map(toRoom);
      if (rows.length < limit) return;
      left -= rows.length;
      const last = rows[rows.length - 1];
      after = { lastActivityAt: last.last_activity_at, id: last.id };
    }
  }

  /** A named multi-user room; its creator is its owner and first member. */
  async function createGroup(input: NewGroup): Promise<Room> {
    checkGroupFields(input);
    const at = now();
    const row = await db.transaction().execute(async (trx) => {
      const row = await insertRoom(trx, {
        kind: "group",
        created_by: input.creatorId,
        created_at: at,
        name: input.name.trim(),
        description: input.description ?? "",
        room_type: input.roomType,
        last_activity_at: at,
      });
      await insertMember(trx, row.id, input.creatorId, "owner", at);
      return row;
    });
    const room = toRoom(row);
    events.publish(topic.everyone, { type: "room.created", room });
    return room;
  }

  /** A student's help request, waiting (`active`) for a teacher. */
  async function createDesk(input: NewDesk): Promise<Room> {
    const student = await findUserRow(db, input.studentId);
    if (!student || student.is_active !== 1) throw new NotFound("user");
    if (student.role !== "member") throw new PermissionDenied("students_only");
    const text = input.text.trim();
    const image = input.image ?? "";
    if (text.length === 0 && image.length === 0) {
      throw ValidationError.of("text", { code: "blank" });
    }
    if (input.text.length > deps.messageMaxLength) {
      throw ValidationError.of("text", { code: "max_length", max: deps.messageMaxLength });
    }
    const at = now();
    const row = await db.transaction().execute(async (trx) => {
      const row = await insertRoom(trx, {
        kind: "desk",
        created_by: student.id,
        created_at: at,
        status: "active",
        topic: input.text,
        topic_image: image,
        last_activity_at: at,
      });
      await insertMember(trx, row.id, student.id, "student", at);
      return row;
    });
    const room = toRoom(row);
    events.publish(topic.user(student.id), { type: "room.created", room });
    events.publish(topic.role("teacher"), { type: "room.created", room });
    return room;
  }

  /** A room by id. Soft-deleted group rooms are gone for everyone. */
  async function get(roomId: number): Promise<Room> {
    const row = await findRoomRow(db, roomId);
    if (!row || (row.kind === "group" && row.is_active !== 1)) throw new NotFound();
    return toRoom(row);
  }

  async function membership(roomId: number, userId: number): Promise<Member | undefined> {
    const row = await findMemberRow(db, roomId, userId);
    return row ? toMember(row) : undefined;
  }

  /** The room, when `userId` belongs to it: NotFound for no room, PermissionDenied otherwise. */
  async function requireMember(
    roomId: number,
    userId: number,
  ): Promise<{ room: Room; member: Member }> {
    const room = await get(roomId);
    const member = await membership(roomId, userId);
    if (!member) throw new PermissionDenied();
    return { room, member };
  }

  async function addMember(roomId: number, userId: number, role: MemberRole = "member") {
    const room = await get(roomId);
    if (room.kind === "direct") {
      throw new PermissionDenied("direct_two_members");
    }
    const at = now();
    if (await insertMember(db, roomId, userId, role, at)) {
      const member: Member = { roomId, userId, role, joinedAt: at, lastReadId: 0 };
      events.publish(topic.room(roomId), { type: "member.added", member });
    }
  }

  async function removeMember(roomId: number, userId: number) {
    if (await deleteMember(db, roomId, userId)) {
      events.publish(topic.room(roomId), { type: "member.removed", roomId, userId });
    }
  }

  async function members(roomId: number): Promise<Member[]> {
    return (await listMemberRows(db, roomId)).map(toMember);
  }

  /** The rooms a user belongs to, most recently active first. */
  async function listForUser(userId: number, kind?: RoomKind): Promise<Room[]> {
    return (await listUserRoomRows(db, userId, kind)).map(toRoom);
  }

  return {
    direct,
    directByUsername,
    pagesForUser,
    createGroup,
    createDesk,
    get,
    membership,
    requireMember,
    addMember,
    removeMember,
    members,
    listForUser,
  };
}

export type Rooms = ReturnType<typeof createRooms>;
