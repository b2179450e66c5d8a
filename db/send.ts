// The send path's statements, the hottest in the service: written once per engine and compiled
// once, instead of built by Kysely's query builder for every message (~17 µs a statement under
// Deno). A message costs two: one reads the room, the author's membership and the author
// (what every refusal needs to know), one inserts. The room's last-message pointer is written
// once per room per batch (RoomPointers), not once per message.
import { CompiledQuery } from "kysely";
import type { Db } from "./client.ts";
import { oneRow } from "./driver.ts";
import { type Engine, engineOf } from "./engine.ts";
import type { DeskStatus, Flag, MessageRow, RoomKind, UserRow } from "./schema.ts";

/** What a send needs to know of its room, read with the author in one statement. */
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

export type NewMessageRow = Omit<MessageRow, "id">;

interface TargetRow extends UserRow {
  room_kind: RoomKind;
  room_status: DeskStatus | null;
  room_is_active: Flag;
  room_last_message_id: number | null;
  room_last_activity_at: number;
  is_member: number | boolean;
}

const TARGET = `SELECT u.*, r.kind AS room_kind, r.status AS room_status,
    r.is_active AS room_is_active, r.last_message_id AS room_last_message_id,
    r.last_activity_at AS room_last_activity_at,
    EXISTS (SELECT 1 FROM members m WHERE m.room_id = r.id AND m.user_id = u.id) AS is_member
  FROM rooms r LEFT JOIN users u ON u.id = {author}
  WHERE r.id = {room}`;

const INSERT = `INSERT INTO messages
    (room_id, author_id, body, image, attachment_id, client_id, created_at)
  VALUES ({room}, {author}, {body}, {image}, {attachment}, {client}, {at}) RETURNING *`;

/** `{name}`s become `?` for SQLite, `$1`, `$2`... for PostgreSQL: parameters in text order. */
function placeholders(engine: Engine, text: string): string {
  let n = 0;
  return text.replace(/\{\w+\}/g, () => engine === "sqlite" ? "?" : `$${++n}`);
}

function statements(engine: Engine) {
  return {
    target: placeholders(engine, TARGET),
    insert: placeholders(engine, INSERT),
    byClientId: placeholders(
      engine,
      "SELECT * FROM messages WHERE author_id = {author} AND client_id = {client}",
    ),
    pointer: placeholders(
      engine,
      "UPDATE rooms SET last_message_id = {id}, last_activity_at = {at} WHERE id = {room}",
    ),
  };
}

const SQL: Record<Engine, ReturnType<typeof statements>> = {
  sqlite: statements("sqlite"),
  postgres: statements("postgres"),
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

/** The room, whether the author belongs to it, and the author; undefined: no such room. */
export async function findSendTarget(
  db: Db,
  roomId: number,
  authorId: number,
): Promise<SendTarget | undefined> {
  const row = await first<TargetRow>(db, SQL[engineOf(db)].target, [authorId, roomId]);
  if (!row) return undefined;
  const {
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

/** Inserts a message; the room's pointer is RoomPointers' job. */
export async function insertMessageRow(db: Db, m: NewMessageRow): Promise<MessageRow> {
  const [row] = await run<MessageRow>(db, SQL[engineOf(db)].insert, [
    m.room_id,
    m.author_id,
    m.body,
    m.image,
    m.attachment_id,
    m.client_id,
    m.created_at,
  ]);
  if (!row) throw new Error("the insert returned no row");
  return row;
}

/** The author's earlier message with this client id, if any. */
export async function findByClientId(
  db: Db,
  authorId: number,
  clientId: string,
): Promise<MessageRow | undefined> {
  return await first<MessageRow>(db, SQL[engineOf(db)].byClientId, [authorId, clientId]);
}

/**
 * The newest message of each room a batch wrote to. Rooms' rows are updated once per room at
 * the end of the batch (`write`); until then `newest` gives a later message of the batch the
 * time it must come after, which the room's row does not hold yet.
 */
export class RoomPointers {
  readonly #newest = new Map<number, { id: number; at: number }>();

  /** The time of the newest message this batch stored in the room, if any. */
  newest(roomId: number): number | undefined {
    return this.#newest.get(roomId)?.at;
  }

  note(row: MessageRow): void {
    this.#newest.set(row.room_id, { id: row.id, at: row.created_at });
  }

  clear(): void {
    this.#newest.clear();
  }

  /** Moves each room's last-message pointer (and last activity) to its newest message. */
  async write(db: Db): Promise<void> {
    const sql = SQL[engineOf(db)].pointer;
    for (const [roomId, { id, at }] of this.#newest) await run(db, sql, [id, at, roomId]);
    this.#newest.clear();
  }
}
