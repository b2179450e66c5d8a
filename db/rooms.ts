// Queries on rooms and their members.
import type { Member, Room } from "@/lib/records.ts";
import type { Db } from "./client.ts";
import { engineOf } from "./engine.ts";
import type { MemberRole, MemberRow, NewRoom, RoomKind, RoomRow } from "./schema.ts";

export function toRoom(row: RoomRow): Room {
  return {
    id: row.id,
    kind: row.kind,
    createdBy: row.created_by,
    createdAt: row.created_at,
    name: row.name,
    description: row.description,
    roomType: row.room_type,
    isActive: row.is_active === 1,
    status: row.status,
    teacherId: row.teacher_id,
    topic: row.topic,
    topicImage: row.topic_image,
    pair: row.user_low !== null && row.user_high !== null ? [row.user_low, row.user_high] : null,
    lastMessageId: row.last_message_id,
    lastActivityAt: row.last_activity_at,
  };
}

export function toMember(row: MemberRow): Member {
  return {
    roomId: row.room_id,
    userId: row.user_id,
    role: row.role,
    joinedAt: row.joined_at,
    lastReadId: row.last_read_id,
  };
}

/**
 * Locks rooms' rows until the transaction ends, in id order (so that two transactions cannot
 * deadlock on them): on PostgreSQL, sends to one room then commit in the order their ids and
 * times were given. SQLite's write transaction already holds the whole database.
 */
export async function lockRooms(db: Db, ids: number[]): Promise<void> {
  if (ids.length === 0 || engineOf(db) !== "postgres") return;
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  await db.selectFrom("rooms").select("id").where("id", "in", sorted).orderBy("id").forUpdate()
    .execute();
}

export async function insertRoom(db: Db, room: NewRoom): Promise<RoomRow> {
  return await db.insertInto("rooms").values(room).returningAll().executeTakeFirstOrThrow();
}

export async function findRoomRow(db: Db, id: number): Promise<RoomRow | undefined> {
  return await db.selectFrom("rooms").selectAll().where("id", "=", id).executeTakeFirst();
}

/** A room and whether `userId` belongs to it, in one query: the check every message makes. */
export async function findRoomForUser(
  db: Db,
  roomId: number,
  userId: number,
): Promise<{ room: RoomRow; member: boolean } | undefined> {
  const row = await db.selectFrom("rooms").selectAll("rooms")
    .select((eb) =>
      eb.exists(
        eb.selectFrom("members").select("members.user_id")
          .whereRef("members.room_id", "=", "rooms.id").where("members.user_id", "=", userId),
      ).as("is_member")
    )
    .where("rooms.id", "=", roomId).executeTakeFirst();
  if (!row) return undefined;
  const { is_member, ...room } = row;
  return { room, member: Boolean(is_member) };
}

export async function findDirectRoomRow(
  db: Db,
  low: number,
  high: number,
): Promise<RoomRow | undefined> {
  return await db.selectFrom("rooms").selectAll()
    .where("kind", "=", "direct").where("user_low", "=", low).where("user_high", "=", high)
    .executeTakeFirst();
}

/** Inserts the pair's direct room unless it exists; true when this call created it. */
export async function insertDirectRoomIfAbsent(
  db: Db,
  low: number,
  high: number,
  createdBy: number,
  now: number,
): Promise<boolean> {
  const result = await db.insertInto("rooms").values({
    kind: "direct",
    user_low: low,
    user_high: high,
    created_by: createdBy,
    created_at: now,
    last_activity_at: now,
  }).onConflict((oc) => oc.doNothing()).executeTakeFirst();
  return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
}

/** Adds a member unless already there; true when added. */
export async function insertMember(
  db: Db,
  roomId: number,
  userId: number,
  role: MemberRole,
  now: number,
): Promise<boolean> {
  const result = await db.insertInto("members")
    .values({ room_id: roomId, user_id: userId, role, joined_at: now })
    .onConflict((oc) => oc.doNothing()).executeTakeFirst();
  return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
}

export async function deleteMember(db: Db, roomId: number, userId: number): Promise<boolean> {
  const result = await db.deleteFrom("members").where("room_id", "=", roomId)
    .where("user_id", "=", userId).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

export async function findMemberRow(
  db: Db,
  roomId: number,
  userId: number,
): Promise<MemberRow | undefined> {
  return await db.selectFrom("members").selectAll()
    .where("room_id", "=", roomId).where("user_id", "=", userId).executeTakeFirst();
}

export async function listMemberRows(db: Db, roomId: number): Promise<MemberRow[]> {
  return await db.selectFrom("members").selectAll().where("room_id", "=", roomId)
    .orderBy("joined_at").execute();
}

/** Where a page of a user's rooms starts: after this room in "most recent first" order. */
export interface RoomCursor {
  lastActivityAt: number;
  id: number;
}

/** One page of a user's rooms (of one kind, or all), most recently active first, after `after`. */
export async function listUserRoomPage(
  db: Db,
  userId: number,
  kind: RoomKind | undefined,
  page: { after?: RoomCursor; limit: number },
): Promise<RoomRow[]> {
  let query = db.selectFrom("members").innerJoin("rooms", "rooms.id", "members.room_id")
    .selectAll("rooms").where("members.user_id", "=", userId);
  if (kind) query = query.where("rooms.kind", "=", kind);
  query = query.where((eb) =>
    eb.or([eb("rooms.kind", "!=", "group"), eb("rooms.is_active", "=", 1)])
  );
  const after = page.after;
  if (after) {
    query = query.where((eb) =>
      eb.or([
        eb("rooms.last_activity_at", "<", after.lastActivityAt),
        eb.and([
          eb("rooms.last_activity_at", "=", after.lastActivityAt),
          eb("rooms.id", "<", after.id),
        ]),
      ])
    );
  }
  return await query.orderBy("rooms.last_activity_at", "desc").orderBy("rooms.id", "desc")
    .limit(page.limit).execute();
}

/** A user's rooms, most recently active first; deleted (inactive) groups are left out. */
export async function listUserRoomRows(
  db: Db,
  userId: number,
  kind?: RoomKind,
): Promise<RoomRow[]> {
  let query = db.selectFrom("members").innerJoin("rooms", "rooms.id", "members.room_id")
    .selectAll("rooms").where("members.user_id", "=", userId)
    .where((eb) => eb.or([eb("rooms.kind", "!=", "group"), eb("rooms.is_active", "=", 1)]));
  if (kind) query = query.where("rooms.kind", "=", kind);
  return await query.orderBy("rooms.last_activity_at", "desc").orderBy("rooms.id", "desc")
    .execute();
}
