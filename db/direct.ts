// Queries on direct rooms as live shows them: suspension, the current-room selection, whether
// the other person has answered, and each room's newest messages.
import { sql } from "kysely";
import type { Db } from "./client.ts";
import type { MessageRow } from "./schema.ts";

/** Suspends (false) or resumes (true) a direct room; true when the flag changed. */
export async function setDirectActive(db: Db, roomId: number, active: boolean): Promise<boolean> {
  const flag = active ? 1 : 0;
  const result = await db.updateTable("rooms").set({ is_active: flag })
    .where("id", "=", roomId).where("kind", "=", "direct").where("is_active", "!=", flag)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function setCurrentRoom(db: Db, userId: number, roomId: number | null) {
  await db.updateTable("users").set({ current_room_id: roomId }).where("id", "=", userId)
    .execute();
}

/** Clears the room as anyone's current room; the ids of the users it was current for. */
export async function clearCurrentRoom(db: Db, roomId: number): Promise<number[]> {
  const rows = await db.updateTable("users").set({ current_room_id: null })
    .where("current_room_id", "=", roomId).returning("id").execute();
  return rows.map((r) => r.id);
}

/** The rooms among `roomIds` where someone other than the room's opener has written. */
export async function answeredRooms(db: Db, roomIds: number[]): Promise<Set<number>> {
  if (roomIds.length === 0) return new Set();
  const rows = await db.selectFrom("rooms").select("rooms.id")
    .where("rooms.id", "in", roomIds)
    .where((eb) =>
      eb.exists(
        eb.selectFrom("messages").select("messages.id")
          .whereRef("messages.room_id", "=", "rooms.id")
          .whereRef("messages.author_id", "!=", "rooms.created_by"),
      )
    ).execute();
  return new Set(rows.map((r) => r.id));
}

/** The newest `perRoom` messages of each room, in one query; newest first within a room. */
export async function newestMessages(
  db: Db,
  roomIds: number[],
  perRoom: number,
): Promise<MessageRow[]> {
  if (roomIds.length === 0) return [];
  const ranked = db.selectFrom("messages").selectAll()
    .select(sql<number>`row_number() over (partition by room_id order by id desc)`.as("rank"))
    .where("room_id", "in", roomIds).as("ranked");
  const rows = await db.selectFrom(ranked).selectAll().where("rank", "<=", perRoom)
    .orderBy("room_id").orderBy("id", "desc").execute();
  return rows.map(({ rank: _, ...row }) => row);
}

/** Read pointers of every member of the given rooms. */
export async function readPointers(
  db: Db,
  roomIds: number[],
): Promise<{ room_id: number; user_id: number; last_read_id: number }[]> {
  if (roomIds.length === 0) return [];
  return await db.selectFrom("members").select(["room_id", "user_id", "last_read_id"])
    .where("room_id", "in", roomIds).execute();
}
