// Opens the database named by the configuration: a local libSQL file (the default), a remote
// libsql:// / http(s):// server, or PostgreSQL (postgres:// or postgresql://, db/postgres.ts).
// Which one it is stays in here: the core gets a Kysely instance and nothing else.
import { resolve } from "node:path";
import { createClient, type InStatement } from "@libsql/client";
import {
  type Dialect,
  Kysely,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from "kysely";
import { LibsqlDriver, mutexForFile } from "./driver.ts";
import { LocalDatabase, type SqlExecutor } from "./local.ts";
import type { Database } from "./schema.ts";
import type { Engine } from "./engine.ts";
import type { UnavailableFactory } from "./errors.ts";
import { openPostgres } from "./postgres.ts";

export type Db = Kysely<Database>;

export interface DatabaseOptions {
  url: string;
  authToken?: string;
  /** How long a writer waits for another process's lock before failing. */
  busyTimeoutMs?: number;
  /** WAL + NORMAL survives a process crash; FULL also survives power loss, at a cost. */
  synchronous?: "NORMAL" | "FULL";
  /** PostgreSQL: most connections this process holds open (10 if unset). */
  poolSize?: number;
  /** PostgreSQL: longest a statement may run, ms (0 or unset: no limit). */
  statementTimeoutMs?: number;
  /** PostgreSQL: longest to wait for a connection, ms (5000 if unset). */
  connectTimeoutMs?: number;
  /** The error to throw when the database cannot be reached (db/errors.ts by default). */
  unavailable?: UnavailableFactory;
}

export interface DatabaseHandle {
  db: Db;
  engine: Engine;
  /** A libSQL file on this machine. */
  local: boolean;
  /**
   * Runs a multi-statement `script` in one write transaction, unless schema_migrations already
   * records `version` (checked inside that transaction; null: always run). True when the
   * script ran and committed; a failing statement rolls the whole script back. Two processes
   * doing this at once take turns (BEGIN IMMEDIATE; an advisory lock on PostgreSQL).
   */
  runScriptOnce(version: number | null, script: string): Promise<boolean>;
  close(): Promise<void>;
}

/** True for the URLs that name a PostgreSQL server. */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/** Any number held by the migration lock; a constant, so every process takes the same one. */
const MIGRATION_LOCK = 7_284_016;

function openPostgresHandle(options: DatabaseOptions): DatabaseHandle {
  const pg = openPostgres(options);
  async function runScriptOnce(version: number | null, script: string): Promise<boolean> {
    return await pg.withClient(async (client) => {
      await client.query("BEGIN");
      try {
        // Held until COMMIT/ROLLBACK: concurrent migrators apply each script once, in turn.
        await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
        if (version !== null) {
          const done = await client.query("SELECT 1 FROM schema_migrations WHERE version = $1", [
            version,
          ]);
          if ((done.rowCount ?? 0) > 0) {
            await client.query("COMMIT");
            return false;
          }
        }
        await client.query(script);
        await client.query("COMMIT");
        return true;
      } catch (err) {
        await client.query("ROLLBACK").catch(() => {});
        throw err;
      }
    });
  }
  return { db: pg.db, engine: "postgres", local: false, runScriptOnce, close: pg.close };
}

/** SQLite's SQL dialect over our libSQL driver (see driver.ts for why not kysely-libsql's). */
function libsqlDialect(driver: LibsqlDriver): Dialect {
  return {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => driver,
    createIntrospector: (db) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  };
}

/** The file path of a `file:` URL, or undefined for remote and in-memory databases. */
export function localPath(url: string): string | undefined {
  if (!url.startsWith("file:")) return undefined;
  const path = url.slice("file:".length).split("?")[0];
  return path === ":memory:" || path === "" ? undefined : path;
}

export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  if (isPostgresUrl(options.url)) return openPostgresHandle(options);
  const local = options.url.startsWith("file:");
  const path = localPath(options.url);
  if (path && path.includes("/")) {
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")) || "/", { recursive: true });
  }
  // Files go through LocalDatabase (prepared statements kept); remote URLs through the client.
  const file = local ? new LocalDatabase(path ?? ":memory:") : undefined;
  const remote = file
    ? undefined
    : createClient({ url: options.url, authToken: options.authToken });
  const client: SqlExecutor = file ?? remote!;
  const mutex = mutexForFile(path === undefined ? undefined : resolve(path));
  const release = await mutex.lock();
  try {
    if (local) {
      // busy_timeout first, so that switching to WAL waits for another process's lock.
      await client.execute(`PRAGMA busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
      await client.execute("PRAGMA journal_mode = WAL");
      await client.execute(`PRAGMA synchronous = ${options.synchronous ?? "NORMAL"}`);
    }
    await client.execute("PRAGMA foreign_keys = ON");
  } finally {
    release();
  }

  const driver = new LibsqlDriver(file ?? remote!, mutex);
  const db = new Kysely<Database>({ dialect: libsqlDialect(driver) });

  async function runScriptOnce(version: number | null, script: string): Promise<boolean> {
    const skipIf: InStatement = version === null
      ? { sql: "SELECT 1 WHERE 0" }
      : { sql: "SELECT 1 FROM schema_migrations WHERE version = ?", args: [version] };
    if (remote) {
      const tx = await remote.transaction("write");
      try {
        if ((await tx.execute(skipIf)).rows.length > 0) return false;
        await tx.executeMultiple(script);
        await tx.commit();
        return true;
      } finally {
        tx.close();
      }
    }
    // For a file, everything stays on its one connection. The script carries its own COMMIT:
    // a failure anywhere leaves the transaction open, and it is rolled back whole.
    const release = await mutex.lock();
    try {
      await client.execute("BEGIN IMMEDIATE");
      try {
        if ((await client.execute(skipIf)).rows.length > 0) {
          await client.execute("COMMIT");
          return false;
        }
      } catch (err) {
        await client.execute("ROLLBACK");
        throw err;
      }
      try {
        await file!.executeMultiple(`${script}\n;\nCOMMIT;`);
      } catch (err) {
        // A failed statement leaves the transaction open: the whole script goes.
        if (file!.inTransaction) await file!.execute("ROLLBACK");
        throw err;
      }
      return true;
    } finally {
      release();
    }
  }

  return { db, engine: "sqlite", local, runScriptOnce, close: () => db.destroy() };
}
