// Opens the database named by the configuration: a local libSQL file (the default) or a
// remote libsql:// / http(s):// server.
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

export type Db = Kysely<Database>;

export interface DatabaseOptions {
  url: string;
  authToken?: string;
  /** How long a writer waits for another process's lock before failing. */
  busyTimeoutMs?: number;
  /** WAL + NORMAL survives a process crash; FULL also survives power loss, at a cost. */
  synchronous?: "NORMAL" | "FULL";
}

export interface DatabaseHandle {
  db: Db;
  local: boolean;
  /**
   * Runs a multi-statement `script` in one write transaction, unless `skipIf` (checked inside
   * that transaction) returns a row. True when the script ran and committed; a failing
   * statement rolls the whole script back.
   */
  runScriptOnce(skipIf: InStatement, script: string): Promise<boolean>;
  close(): Promise<void>;
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

  async function runScriptOnce(skipIf: InStatement, script: string): Promise<boolean> {
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

  return { db, local, runScriptOnce, close: () => db.destroy() };
}
