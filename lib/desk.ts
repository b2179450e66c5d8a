// The desk: students open help rooms, teachers take them, chat, and close them. The status
// only moves forward: active → engaged → closed. Every desk rule is here.
import type { Db } from "@/db/client.ts";
import {
  claimDeskRoom,
  closeDeskRoom,
  listStudentDeskRooms,
  listTeacherDeskRooms,
  openDeskRoomIds,
} from "@/db/desk.ts";
import { findRoomRow, insertMember, listMemberRows, toRoom } from "@/db/rooms.ts";
import type { MemberRow } from "@/db/schema.ts";
import { findUserRow, toUser } from "@/db/users.ts";
import { Conflict, NotFound, PermissionDenied } from "./errors.ts";
import { type EventSink, topic } from "./events.ts";
import type { HistoryQuery, HistorySnapshot, Messages } from "./messages.ts";
import type { Message, Room, User } from "./records.ts";
import { requireActiveUser, type Rooms } from "./rooms.ts";

export interface DeskDeps {
  db: Db;
  events: EventSink;
  rooms: Rooms;
  messages: Messages;
  now: () => number;
}

export interface DeskMessage extends Message {
  /** Someone other than the author has read up to it. */
  seen: boolean;
}

/** Teachers and admins take rooms; everyone else is a student. */
export function isTeacher(user: User): boolean {
  return user.role === "teacher" || user.role === "admin";
}

/** Adds `seen` from the members' read pointers: someone other than the author read that far. */
function withSeen(messages: Message[], pointers: MemberRow[]): DeskMessage[] {
  return messages.map((m) => ({
    ...m,
    seen: pointers.some((p) => p.user_id !== m.authorId && p.last_read_id >= m.id),
  }));
}

export function createDesk(deps: DeskDeps) {
  const { db, events, rooms, messages, now } = deps;

  async function deskRoom(roomId: number): Promise<Room> {
    const row = await findRoomRow(db, roomId);
    if (!row || row.kind !== "desk") throw new NotFound();
    return toRoom(row);
  }

  /** A student's own rooms; a teacher's waiting rooms and held rooms. Newest first. */
  async function listFor(user: User): Promise<Room[]> {
    const rows = isTeacher(user)
      ? await listTeacherDeskRooms(db, user.id)
      : await listStudentDeskRooms(db, user.id);
    return rows.map(toRoom);
  }

  /** A student opens a room with their question. Teachers cannot (PermissionDenied). */
  async function open(studentId: number, text: string, image = ""): Promise<Room> {
    return await rooms.createDesk({ studentId, text, image });
  }

  /**
   * A teacher takes a waiting room. The holder taking it again (after a reconnect) is fine and
   * changes nothing (`joined: false`); anyone else gets Conflict.
   */
  async function join(roomId: number, teacherId: number): Promise<{ room: Room; joined: boolean }> {
    const teacher = await requireActiveUser(db, teacherId);
    if (!isTeacher(teacher)) throw new PermissionDenied("teachers_only");
    const room = await deskRoom(roomId);
    if (room.status === "closed") throw new Conflict("room_closed");
    if (room.status === "engaged") {
      if (room.teacherId === teacherId) return { room, joined: false };
      throw new Conflict("room_taken");
    }
    const claimed = await db.transaction().execute(async (trx) => {
      if (!await claimDeskRoom(trx, roomId, teacherId)) return false;
      await insertMember(trx, roomId, teacherId, "teacher", now());
      return true;
    });
    const current = await deskRoom(roomId);
    if (!claimed) {
      // Another teacher won the race between our read and our update.
      if (current.teacherId === teacherId) return { room: current, joined: false };
      throw new Conflict("room_taken");
    }
    const event = { type: "room.status", room: current, teacher } as const;
    events.publish(topic.room(roomId), event);
    // The teacher hears it too, also where nobody else is in the room yet.
    events.publish(topic.user(teacherId), event);
    return { room: current, joined: true };
  }

  /** The room's teacher closes it; no message is taken afterwards. */
  async function close(roomId: number, teacherId: number): Promise<Room> {
    const room = await deskRoom(roomId);
    if (room.teacherId !== teacherId) {
      throw new PermissionDenied("not_room_teacher");
    }
    if (room.status === "closed") throw new Conflict("room_closed");
    if (!await closeDeskRoom(db, roomId, teacherId)) throw new Conflict("room_closed");
    const closed = await deskRoom(roomId);
    const teacher = await requireActiveUser(db, teacherId);
    events.publish(topic.room(roomId), { type: "room.status", room: closed, teacher });
    return closed;
  }

  /** A page of the room's messages for its student or teacher, with `seen` derived. */
  async function history(
    roomId: number,
    userId: number,
    query: HistoryQuery = {},
  ): Promise<{ messages: DeskMessage[]; hasMore: boolean }> {
    await deskRoom(roomId);
    const page = await messages.history(roomId, userId, query);
    const pointers = await listMemberRows(db, roomId);
    return { hasMore: page.hasMore, messages: withSeen(page.messages, pointers) };
  }

  /**
   * The room's whole history for its student or teacher (a snapshot read in pages, see
   * Messages.historySnapshot), with `seen` derived from the read pointers of this moment.
   */
  async function historySnapshot(
    roomId: number,
    userId: number,
  ): Promise<HistorySnapshot<DeskMessage>> {
    await deskRoom(roomId);
    const snapshot = await messages.historySnapshot(roomId, userId);
    const pointers = await listMemberRows(db, roomId);
    async function* pages(): AsyncGenerator<DeskMessage[]> {
      for await (const page of snapshot.pages) yield withSeen(page, pointers);
    }
    return { ...snapshot, pages: pages() };
  }

  /** The user has read everything in the room (the other person's messages become seen). */
  async function markSeen(roomId: number, userId: number): Promise<number> {
    await deskRoom(roomId);
    return await messages.markRead(roomId, userId);
  }

  /**
   * Its own student announces a room to the teachers (desk's new_room); not once closed.
   * Published as room.announced to every teacher, with the people the room names.
   */
  async function announce(
    roomId: number,
    userId: number,
  ): Promise<{ room: Room; student: User; teacher: User | null }> {
    const room = await deskRoom(roomId);
    if (room.createdBy !== userId) {
      throw new PermissionDenied("not_room_student");
    }
    if (room.status === "closed") throw new Conflict("room_closed");
    const student = await requireActiveUser(db, userId);
    const teacher = room.teacherId === null ? null : await findUser(room.teacherId);
    const announced = { room, student, teacher };
    events.publish(topic.role("teacher"), { type: "room.announced", ...announced });
    return announced;
  }

  async function findUser(id: number): Promise<User | null> {
    const row = await findUserRow(db, id);
    return row ? toUser(row) : null;
  }

  /** The open desk rooms a user is in (presence is announced there). */
  function openRoomIds(userId: number): Promise<number[]> {
    return openDeskRoomIds(db, userId);
  }

  return {
    listFor,
    open,
    join,
    close,
    history,
    historySnapshot,
    markSeen,
    announce,
    openRoomIds,
  };
}

export type Desk = ReturnType<typeof createDesk>;
