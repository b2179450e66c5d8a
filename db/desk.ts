// Queries on desk rooms: listings per role and the status transitions, each a single
// conditional UPDATE so that two teachers racing for one room cannot both win.
import type { Db } from "./client.ts";
import type { RoomRow } from "./schema.ts";

/** A student's own help rooms, newest first. */
export async function listStudentDeskRooms(db: Db, studentId: number): Promise<RoomRow[]> {
  return await db.selectFrom("rooms").selectAll()
    .where("kind", "=", "desk").where("created_by", "=", studentId)
    .orderBy("created_at", "desc").orderBy("id", "desc").execute();
}

/** What a teacher sees: rooms waiting for a teacher and the rooms they hold, newest first. */
export async function listTeacherDeskRooms(db: Db, teacherId: number): Promise<RoomRow[]> {
  return await db.selectFrom("rooms").selectAll()
    .where("kind", "=", "desk")
    .where((eb) => eb.or([eb("status", "=", "active"), eb("teacher_id", "=", teacherId)]))
    .orderBy("created_at", "desc").orderBy("id", "desc").execute();
}

/** active → engaged with this teacher; false when the room was not waiting. */
export async function claimDeskRoom(db: Db, roomId: number, teacherId: number): Promise<boolean> {
  const result = await db.updateTable("rooms").set({ status: "engaged", teacher_id: teacherId })
    .where("id", "=", roomId).where("kind", "=", "desk").where("status", "=", "active")
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** engaged → closed, by the teacher who holds it; false otherwise. */
export async function closeDeskRoom(db: Db, roomId: number, teacherId: number): Promise<boolean> {
  const result = await db.updateTable("rooms").set({ status: "closed" })
    .where("id", "=", roomId).where("kind", "=", "desk").where("status", "=", "engaged")
    .where("teacher_id", "=", teacherId).executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** Ids of the open (not closed) desk rooms a user belongs to. */
export async function openDeskRoomIds(db: Db, userId: number): Promise<number[]> {
  const rows = await db.selectFrom("members").innerJoin("rooms", "rooms.id", "members.room_id")
    .select("rooms.id").where("members.user_id", "=", userId)
    .where("rooms.kind", "=", "desk").where("rooms.status", "!=", "closed").execute();
  return rows.map((r) => r.id);
}
