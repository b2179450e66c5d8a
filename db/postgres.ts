// PostgreSQL, for more than one machine: Kysely's own PostgresDialect over a `pg` pool. The
// pool is wrapped so that what the layers above see is the same as on libSQL: int8 columns
// (ids, times) come back as numbers, an unreachable or slow server is an "unavailable" error
// (a 503, never a driver message), and a COMMIT that PostgreSQL turned into a ROLLBACK (the
// transaction had failed) is an error rather than a silent loss.
// @ts-types="@types/pg"
import pg from "pg";
import {
  Kysely,
  PostgresDialect,
  type PostgresPool,
  type PostgresPoolClient,
  type PostgresQueryResult,
} from "kysely";
import type { Database } from "./schema.ts";
import { isConnectionFailure, unavailable, type UnavailableFactory } from "./errors.ts";

export interface PostgresOptions {
  url: string;
  /** Most connections this process holds open. */
  poolSize?: number;
  /** Longest a statement may run on the server, ms (0: no limit). */
  statementTimeoutMs?: number;
  /** Longest to wait for a connection (new, or a free one from the pool), ms. */
  connectTimeoutMs?: number;
  unavailable?: UnavailableFactory;
}

const INT8 = 20;

/**
 * int8 as a number: every id, time and count here stays far below 2^53. (Throwing here would
 * happen inside pg's socket handler, so an impossible value is not checked.)
 */
const parseInt8 = (text: string): number => Number(text);

const types = {
  getTypeParser:
    ((oid: number, format?: "text" | "binary") =>
      oid === INT8
        ? parseInt8
        : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/**
 * PostgreSQL text cannot hold U+0000, which SQLite stores; a string carrying one would fail
 * its statement. It is stored as U+FFFD instead, the same way every time (so a client id or
 * a login with one still matches itself).
 */
function withoutNul(value: unknown): unknown {
  return typeof value === "string" && value.includes("\0")
    ? value.replaceAll("\0", "\uFFFD")
    : value;
}

/** The pg pool behind Kysely, with errors translated and failed commits caught. */
class GuardedPool implements PostgresPool {
  readonly #clients = new WeakMap<pg.PoolClient, PostgresPoolClient>();

  constructor(readonly pool: pg.Pool, readonly factory: UnavailableFactory | undefined) {}

  translate(err: unknown): unknown {
    return isConnectionFailure(err) ? unavailable(err, this.factory) : err;
  }

  async connect(): Promise<PostgresPoolClient> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.translate(err);
    }
    let guarded = this.#clients.get(client);
    if (!guarded) {
      // A connection lost while checked out fails its next query; unheard, the client's
      // error event would end the process.
      client.on("error", () => {});
      this.#clients.set(client, guarded = this.#guard(client));
    }
    return guarded;
  }

  #guard(client: pg.PoolClient): PostgresPoolClient {
    let broken = false;
    const query = async (sql: string, parameters: readonly unknown[]) => {
      let result: pg.QueryResult;
      try {
        result = await client.query(sql, parameters.map(withoutNul));
      } catch (err) {
        if (isConnectionFailure(err)) broken = true;
        throw this.translate(err);
      }
      if (sql === "commit" && result.command === "ROLLBACK") {
        throw new Error("the transaction failed and was rolled back");
      }
      return result as unknown as PostgresQueryResult<never>;
    };
    return {
      query: query as unknown as PostgresPoolClient["query"],
      // A connection that failed is closed, not handed out again.
      release: () => {
        client.release(broken ? true : undefined);
        if (broken) this.#clients.delete(client);
      },
    };
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}

export interface PostgresHandle {
  db: Kysely<Database>;
  pool: pg.Pool;
  /** Runs `fn` on one connection of its own (migrations), translating its errors. */
  withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function openPostgres(options: PostgresOptions): PostgresHandle {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    statement_timeout: options.statementTimeoutMs || undefined,
    // A transaction left open by a stuck request must not hold its row locks forever.
    idle_in_transaction_session_timeout: 60_000,
    keepAlive: true,
    application_name: "chat",
    types,
  });
  // An idle connection that the server closed (restart, failover) is dropped by the pool;
  // without a listener its error would end the process.
  pool.on("error", () => {});
  const guarded = new GuardedPool(pool, options.unavailable);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: guarded }) });

  async function withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw guarded.translate(err);
    }
    let failed = false;
    try {
      return await fn(client);
    } catch (err) {
      failed = isConnectionFailure(err);
      throw guarded.translate(err);
    } finally {
      client.release(failed ? true : undefined);
    }
  }

  return { db, pool, withClient, close: () => db.destroy() };
}
