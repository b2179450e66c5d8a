// The send path's statements, the hottest in the service: written once per engine and compiled
// once, instead of built by Kysely's query builder for every message (~17 µs a statement under
// Deno). A batch of sends (db/group_commit.ts) reads what every message's checks need (room,
// membership, author) in one statement for the whole batch, inserts each message with one
// statement, and moves the rooms' last-message pointers in one statement at the end: on
// PostgreSQL that is one round trip per message instead of five.
import { CompiledQuery } from "kysely";
import type { Db } from "./client.ts";
import { oneRow } from "./driver.ts";
import { type Engine, engineOf } from "./engine.ts";
import { lockRooms } from "./rooms.ts";
import type { DeskStatus, Flag, MessageRow, RoomKind, UserRow } from "./schema.ts";

/** What a send needs to know of its room and author. */
export interface SendTarget {
  room: {
    kind: RoomKind;
    status: DeskStatus | null;
    isActive: Flag;
    lastMessageId: number | null;
    lastActivityAt: number;
  };
  member: boolean;
  /** Undefined when no such account exists. */
  author: UserRow | undefined;
}

/** One send of a batch: who writes where. */
export interface SendPair {
  roomId: number;
  authorId: number;
}

export type NewMessageRow = Omit<MessageRow, "id">;

interface TargetRow extends UserRow {
  pair_room: number;
  pair_author: number;
  room_kind: RoomKind;
  room_status: DeskStatus | null;
  room_is_active: Flag;
  room_last_message_id: number | null;
  room_last_activity_at: number;
  is_member: number | boolean;
}

const TARGET_COLUMNS = `u.*, r.kind AS room_kind, r.status AS room_status,
    r.is_active AS room_is_active, r.last_message_id AS room_last_message_id,
    r.last_activity_at AS room_last_activity_at,
    EXISTS (SELECT 1 FROM members m WHERE m.room_id = r.id AND m.user_id = u.id) AS is_member`;

/** The batch's pairs come as one JSON array on SQLite and as two arrays on PostgreSQL. */
type Statement = "target" | "targets" | "insert" | "byClientId" | "pointers";
const SQL: Record<Engine, Record<Statement, string>> = {
  sqlite: {
    // A batch of one (the common case below saturation) reads its one row in one native call.
    target: `SELECT ?1 AS pair_room, ?2 AS pair_author, ${TARGET_COLUMNS}
      FROM rooms r LEFT JOIN users u ON u.id = ?2 WHERE r.id = ?1`,
    targets: `SELECT p.value ->> 0 AS pair_room, p.value ->> 1 AS pair_author, ${TARGET_COLUMNS}
      FROM json_each(?) p JOIN rooms r ON r.id = p.value ->> 0
      LEFT JOIN users u ON u.id = p.value ->> 1`,
    // No RETURNING: the id comes back with the run, and the rest is what was inserted.
    insert: `INSERT INTO messages
        (room_id, author_id, body, image, attachment_id, client_id, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?)`,
    byClientId: "SELECT * FROM messages WHERE author_id = ? AND client_id = ?",
    pointers: `UPDATE rooms SET last_message_id = p.value ->> 1, last_activity_at = p.value ->> 2
      FROM json_each(?) p WHERE rooms.id = p.value ->> 0`,
  },
  postgres: {
    target: `SELECT $1::bigint AS pair_room, $2::bigint AS pair_author, ${TARGET_COLUMNS}
      FROM rooms r LEFT JOIN users u ON u.id = $2 WHERE r.id = $1`,
    targets: `SELECT p.pair_room, p.pair_author, ${TARGET_COLUMNS}
      FROM unnest($1::bigint[], $2::bigint[]) AS p (pair_room, pair_author)
      JOIN rooms r ON r.id = p.pair_room LEFT JOIN users u ON u.id = p.pair_author`,
    insert: `INSERT INTO messages
        (room_id, author_id, body, image, attachment_id, client_id, created_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
    byClientId: "SELECT * FROM messages WHERE author_id = $1 AND client_id = $2",
    pointers: `UPDATE rooms SET last_message_id = p.id, last_activity_at = p.at
      FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS p (room, id, at)
      WHERE rooms.id = p.room`,
  },
};

async function run<R>(db: Db, sql: string, params: unknown[]): Promise<R[]> {
  const { rows } = await db.executeQuery<R>(CompiledQuery.raw(sql, params));
  return rows;
}

/** run() for SELECTs that return at most one row. */
async function first<R>(db: Db, sql: string, params: unknown[]): Promise<R | undefined> {
  const { rows } = await db.executeQuery<R>(oneRow(CompiledQuery.raw(sql, params)));
  return rows[0];
}

/** Columns of a list of tuples, for PostgreSQL's unnest(). */
function columns(tuples: number[][], width: number): number[][] {
  return Array.from({ length: width }, (_, i) => tuples.map((tuple) => tuple[i]));
}

function toTarget(row: TargetRow): SendTarget {
  const {
    pair_room: _room,
    pair_author: _author,
    room_kind,
    room_status,
    room_is_active,
    room_last_message_id,
    room_last_activity_at,
    is_member,
    ...author
  } = row;
  return {
    room: {
      kind: room_kind,
      status: room_status,
      isActive: room_is_active,
      lastMessageId: room_last_message_id,
      lastActivityAt: room_last_activity_at,
    },
    member: Boolean(is_member),
    author: author.id === null ? undefined : author,
  };
}

const pairKey = (roomId: number, authorId: number) => `${roomId}:${authorId}`;

/**
 * What one send transaction knows and defers, used by one batch at a time: the targets read
 * at its start (nothing a send does changes them, except the room's newest message, which
 * `newest` tracks), and each room's newest message, written to the rooms at its end.
 */
export class SendBatch {
  readonly #targets = new Map<string, SendTarget>();
  readonly #newest = new Map<number, { id: number; at: number }>();

  /**
   * Starts a batch inside its transaction: locks the rooms (PostgreSQL: sends to one room then
   * commit in the order of their ids and times, also across processes) and reads every send's
   * target in one statement.
   */
  async open(trx: Db, pairs: SendPair[]): Promise<void> {
    this.#targets.clear();
    this.#newest.clear();
    await lockRooms(trx, pairs.map((p) => p.roomId));
    const unique = new Map(pairs.map((p) => [pairKey(p.roomId, p.authorId), p]));
    const tuples = [...unique.values()].map((p) => [p.roomId, p.authorId]);
    const engine = engineOf(trx);
    const rows = tuples.length === 1
      ? [await first<TargetRow>(trx, SQL[engine].target, tuples[0])]
      : await run<TargetRow>(
        trx,
        SQL[engine].targets,
        engine === "sqlite" ? [JSON.stringify(tuples)] : columns(tuples, 2),
      );
    for (const row of rows) {
      if (!row) continue;
      this.#targets.set(pairKey(Number(row.pair_room), Number(row.pair_author)), toTarget(row));
    }
  }

  /** The send's room and author as the batch began; undefined: no such room. */
  target(roomId: number, authorId: number): SendTarget | undefined {
    return this.#targets.get(pairKey(roomId, authorId));
  }

  /** The time of the newest message this batch stored in the room, if any. */
  newest(roomId: number): number | undefined {
    return this.#newest.get(roomId)?.at;
  }

  /** Inserts a message of the batch; the room's pointer moves when the batch closes. */
  async insert(trx: Db, m: NewMessageRow): Promise<MessageRow> {
    const result = await trx.executeQuery<{ id: number }>(
      CompiledQuery.raw(SQL[engineOf(trx)].insert, [
        m.room_id,
        m.author_id,
        m.body,
        m.image,
        m.attachment_id,
        m.client_id,
        m.created_at,
      ]),
    );
    const id = Number(result.rows[0]?.id ?? result.insertId);
    if (!Number.isSafeInteger(id) || id <= 0) throw new Error("the insert returned no id");
    this.#newest.set(m.room_id, { id, at: m.created_at });
    return { id, ...m };
  }

  /** Moves each room the batch wrote to onto its newest message, in one statement. */
  async close(trx: Db): Promise<void> {
    if (this.#newest.size === 0) return;
    const tuples = [...this.#newest].map(([room, { id, at }]) => [room, id, at]);
    const engine = engineOf(trx);
    const params = engine === "sqlite" ? [JSON.stringify(tuples)] : columns(tuples, 3);
    await run(trx, SQL[engine].pointers, params);
    this.#newest.clear();
  }
}

/** The author's earlier message with this client id, if any. */
export async function findByClientId(
  db: Db,
  authorId: number,
  clientId: string,
): Promise<MessageRow | undefined> {
  return await first<MessageRow>(db, SQL[engineOf(db)].byClientId, [authorId, clientId]);
}
