// Which engine a Kysely instance (or transaction) runs on, for the few queries that must be
// written differently; everything above db/ stays engine-blind.
import { type Kysely, PostgresAdapter, sql } from "kysely";

export type Engine = "sqlite" | "postgres";

// deno-lint-ignore no-explicit-any
export function engineOf(db: Kysely<any>): Engine {
  return db.getExecutor().adapter instanceof PostgresAdapter ? "postgres" : "sqlite";
}

/**
 * Makes transactions that name the same key take turns, until the end of the transaction.
 * SQLite's write transaction already runs alone; PostgreSQL takes an advisory lock on a hash
 * of the key (a rare collision only makes two unrelated transactions wait for each other).
 */
// deno-lint-ignore no-explicit-any
export async function lockKey(db: Kysely<any>, key: string): Promise<void> {
  if (engineOf(db) !== "postgres") return;
  await sql`SELECT pg_advisory_xact_lock(hashtext(${key}))`.execute(db);
}
