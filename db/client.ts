// Opens the database named by the configuration: a local libSQL file (the default) or a
// remote libsql:// / http(s):// server.
import { createClient, type InStatement } from "@libsql/client";
import {
  type Dialect,
  Kysely,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from "kysely";
import { LibsqlDriver } from "./driver.ts";
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

/** Raw statements inside one write transaction (migrations need multi-statement SQL). */
export interface RawTransaction {
  execute(stmt: InStatement): Promise<{ rows: unknown[] }>;
  executeMultiple(sql: string): Promise<void>;
}

export interface DatabaseHandle {
  db: Db;
  local: boolean;
  /** Runs `fn` inside a write transaction with exclusive use of the connection. */
  rawWriteTransaction<T>(fn: (tx: RawTransaction) => Promise<T>): Promise<T>;
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
  const client = createClient({ url: options.url, authToken: options.authToken });
  // Pragmas belong to a connection, so they are applied again whenever the client reopens.
  async function configure(): Promise<void> {
    if (local) {
      // busy_timeout first, so that switching to WAL waits for another process's lock.
      await client.execute(`PRAGMA busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
      await client.execute("PRAGMA journal_mode = WAL");
      await client.execute(`PRAGMA synchronous = ${options.synchronous ?? "NORMAL"}`);
    }
    await client.execute("PRAGMA foreign_keys = ON");
  }
  await configure();

  const driver = new LibsqlDriver(client, local);
  const db = new Kysely<Database>({ dialect: libsqlDialect(driver) });

  // Multi-statement SQL needs the client's own transaction object (its executeMultiple rolls
  // back an enclosing plain BEGIN). For a file that detaches the connection, hence configure().
  async function rawWriteTransaction<T>(fn: (tx: RawTransaction) => Promise<T>): Promise<T> {
    const release = local ? await driver.mutex.lock() : () => {};
    try {
      const tx = await client.transaction("write");
      try {
        const result = await fn(tx);
        await tx.commit();
        return result;
      } finally {
        tx.close();
        if (local) await configure();
      }
    } finally {
      release();
    }
  }

  return { db, local, rawWriteTransaction, close: () => db.destroy() };
}
