// Queries on group rooms (meet rooms, lounge chat groups).
import { sql } from "kysely";
import type { Db } from "./client.ts";
import type { RoomRow, RoomType } from "./schema.ts";

export interface GroupFilter {
  roomType?: RoomType;
  /** Case-insensitive substring of the name. */
  search?: string;
}

/** Active groups, oldest first, optionally filtered. */
export async function listActiveGroups(db: Db, filter: GroupFilter = {}): Promise<RoomRow[]> {
  let query = db.selectFrom("rooms").selectAll()
    .where("kind", "=", "group").where("is_active", "=", 1);
  if (filter.roomType) query = query.where("room_type", "=", filter.roomType);
  if (filter.search) {
    const pattern = `%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    // lower() on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
    query = query.where(sql<boolean>`lower(name) LIKE lower(${pattern}) ESCAPE '\\'`);
  }
  return await query.orderBy("id").execute();
}

export async function updateGroup(
  db: Db,
  id: number,
  changes: { name?: string; description?: string; is_active?: 0 | 1 },
): Promise<RoomRow | undefined> {
  return await db.updateTable("rooms").set(changes)
    .where("id", "=", id).where("kind", "=", "group").returningAll().executeTakeFirst();
}
