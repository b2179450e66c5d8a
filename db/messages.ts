// Queries on messages and on the read pointers derived from them.
import { sql } from "kysely";
import type { Message } from "@/lib/records.ts";
import type { Db } from "./client.ts";
import type { MessageRow } from "./schema.ts";

export function toMessage(row: MessageRow): Message {
  return {
    id: row.id,
    roomId: row.room_id,
    authorId: row.author_id,
    text: row.body,
    image: row.image,
    attachmentId: row.attachment_id,
    clientId: row.client_id,
    createdAt: row.created_at,
  };
}

export async function findMessageRow(db: Db, id: number): Promise<MessageRow | undefined> {
  return await db.selectFrom("messages").selectAll().where("id", "=", id).executeTakeFirst();
}

/** Messages by id (at most a few hundred at once: callers pass one page of rooms). */
export async function findMessageRows(db: Db, ids: number[]): Promise<MessageRow[]> {
  if (ids.length === 0) return [];
  return await db.selectFrom("messages").selectAll().where("id", "in", ids).execute();
}

export interface Page {
  before?: number;
  after?: number;
  limit: number;
}

/**
 * One page of a room's history, oldest first. With `after` only: the first messages after it;
 * otherwise the newest ones (before `before`, when given). Fetches one extra row to tell
 * whether more exist in the direction of travel.
 */
export async function selectHistory(
  db: Db,
  roomId: number,
  page: Page,
): Promise<{ rows: MessageRow[]; hasMore: boolean }> {
  let query = db.selectFrom("messages").selectAll().where("room_id", "=", roomId);
  if (page.before !== undefined) query = query.where("id", "<", page.before);
  if (page.after !== undefined) query = query.where("id", ">", page.after);
  const forward = page.after !== undefined && page.before === undefined;
  const rows = await query.orderBy("id", forward ? "asc" : "desc").limit(page.limit + 1).execute();
  const hasMore = rows.length > page.limit;
  if (hasMore) rows.pop();
  if (!forward) rows.reverse();
  return { rows, hasMore };
}

/** How many of a room's messages have an id up to `through`. */
export async function countHistory(db: Db, roomId: number, through: number): Promise<number> {
  const row = await db.selectFrom("messages").select(sql<number>`count(*)`.as("n"))
    .where("room_id", "=", roomId).where("id", "<=", through).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The id of the room's `n`-th newest message (n from 1) up to `through`, if it has that many. */
export async function nthNewestId(
  db: Db,
  roomId: number,
  through: number,
  n: number,
): Promise<number | undefined> {
  const row = await db.selectFrom("messages").select("id")
    .where("room_id", "=", roomId).where("id", "<=", through)
    .orderBy("id", "desc").limit(1).offset(n - 1).executeTakeFirst();
  return row?.id;
}

/**
 * One keyset page of a forward walk through a room's history: up to `limit` messages with ids
 * from `from` through `through`, oldest first. The next page starts after the last id.
 */
export async function selectHistoryRange(
  db: Db,
  roomId: number,
  range: { from: number; through: number; limit: number },
): Promise<MessageRow[]> {
  return await db.selectFrom("messages").selectAll()
    .where("room_id", "=", roomId)
    .where("id", ">=", range.from).where("id", "<=", range.through)
    .orderBy("id", "asc").limit(range.limit).execute();
}

/**
 * The newest `limit` messages of a room created strictly before `beforeTime` (ms, may be
 * fractional), or the newest of all without it; oldest first.
 */
export async function selectHistoryBeforeTime(
  db: Db,
  roomId: number,
  page: { beforeTime?: number; limit: number },
): Promise<MessageRow[]> {
  let query = db.selectFrom("messages").selectAll().where("room_id", "=", roomId);
  // Times are whole ms: "before 12.5" is "before 13", which an integer column takes.
  if (page.beforeTime !== undefined) {
    query = query.where("created_at", "<", Math.ceil(page.beforeTime));
  }
  const rows = await query.orderBy("created_at", "desc").orderBy("id", "desc")
    .limit(page.limit).execute();
  return rows.reverse();
}

/**
 * A page by time, oldest first: with `before`, the newest `limit` messages created strictly
 * before `time` (the newest of all without a time); otherwise the oldest `limit` created strictly
 * after it. Times are unique within a room (the send path makes them increase), so a message's
 * own time is an exact cursor. One extra row tells whether more lie beyond the page.
 */
export async function selectHistoryByTime(
  db: Db,
  roomId: number,
  page: { time?: number; before: boolean; limit: number },
): Promise<{ rows: MessageRow[]; hasMore: boolean }> {
  // Without a time there is nothing to be "since": the newest messages.
  const before = page.before || page.time === undefined;
  let query = db.selectFrom("messages").selectAll().where("room_id", "=", roomId);
  if (page.time !== undefined) {
    // Whole ms, as stored (an integer column refuses 12.5 on PostgreSQL).
    const time = before ? Math.ceil(page.time) : Math.floor(page.time);
    query = query.where("created_at", before ? "<" : ">", time);
  }
  const order = before ? "desc" : "asc";
  const rows = await query.orderBy("created_at", order).orderBy("id", order)
    .limit(page.limit + 1).execute();
  const hasMore = rows.length > page.limit;
  if (hasMore) rows.pop();
  if (before) rows.reverse();
  return { rows, hasMore };
}

/** Moves a read pointer forward only; returns true when it moved. */
export async function advanceReadPointer(
  db: Db,
  roomId: number,
  userId: number,
  upTo: number,
): Promise<boolean> {
  const result = await db.updateTable("members").set({ last_read_id: upTo })
    .where("room_id", "=", roomId).where("user_id", "=", userId)
    .where("last_read_id", "<", upTo).executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/**
 * Unread messages per room for a user: others' messages past the user's read pointer.
 * Deleted (inactive) groups are left out: nobody can open them to read.
 */
export async function countUnreadByRoom(
  db: Db,
  userId: number,
  roomId?: number,
): Promise<Map<number, number>> {
  let query = db.selectFrom("members")
    .innerJoin("rooms", "rooms.id", "members.room_id")
    .where((eb) => eb.or([eb("rooms.kind", "!=", "group"), eb("rooms.is_active", "=", 1)]))
    .innerJoin("messages", (join) =>
      join.onRef("messages.room_id", "=", "members.room_id")
        .onRef("messages.id", ">", "members.last_read_id")
        .onRef("messages.author_id", "!=", "members.user_id"))
    .select(["members.room_id as room_id", sql<number>`count(*)`.as("unread")])
    .where("members.user_id", "=", userId);
  if (roomId !== undefined) query = query.where("members.room_id", "=", roomId);
  const rows = await query.groupBy("members.room_id").execute();
  return new Map(rows.map((r) => [r.room_id, Number(r.unread)]));
}
