// A Kysely driver for libSQL that keeps one connection per local database file.
//
// @libsql/kysely-libsql hands each Kysely transaction to client.transaction(), which for a
// file database detaches the client's connection and opens a new one for the next query.
// The new connection loses per-connection pragmas (foreign_keys, busy_timeout), and a write
// on it while the transaction is open waits on a lock that the (synchronous) native driver
// holds on this same thread. So for files, queries take turns on one connection and a
// transaction is a plain BEGIN IMMEDIATE … COMMIT on it. Remote databases (sqld, Turso)
// keep using interactive transactions over their own streams. (kysely-libsql also pins
// @libsql/client 0.8, which would load a second native libSQL next to ours.)
import type { Client, InArgs, Transaction } from "@libsql/client";
import type {
  CompiledQuery,
  DatabaseConnection,
  Driver,
  QueryResult,
  TransactionSettings,
} from "kysely";
import { LocalDatabase, type SqlExecutor } from "./local.ts";

const oneRowQueries = new WeakSet<CompiledQuery>();

/**
 * Marks a compiled SELECT as returning at most one row (a lookup by key): a local file then
 * reads it in one native call instead of two. Never a write: stepped once, an INSERT …
 * RETURNING would report a failed constraint only on the statement's next use.
 */
export function oneRow<Q extends CompiledQuery>(query: Q): Q {
  oneRowQueries.add(query);
  return query;
}

/** Hands out one turn at a time, in arrival order. */
export class Mutex {
  #tail: Promise<void> = Promise.resolve();

  lock(): Promise<() => void> {
    let release!: () => void;
    const turn = new Promise<void>((resolve) => (release = resolve));
    const ready = this.#tail.then(() => release);
    this.#tail = this.#tail.then(() => turn);
    return ready;
  }
}

// One mutex per database file for the whole process: two handles on one file (tests, a task
// next to the server) must take turns here, since a BEGIN IMMEDIATE that waits on SQLite's
// busy timeout would block the one thread the lock holder needs to finish.
const fileMutexes = new Map<string, Mutex>();

export function mutexForFile(path: string | undefined): Mutex {
  if (path === undefined) return new Mutex();
  let mutex = fileMutexes.get(path);
  if (!mutex) fileMutexes.set(path, mutex = new Mutex());
  return mutex;
}

export class LibsqlConnection implements DatabaseConnection {
  #tx: Transaction | undefined;

  /** `client` runs statements; `remote` is set for a remote database (its transactions). */
  constructor(readonly client: SqlExecutor, readonly remote: Client | undefined) {}

  get local(): boolean {
    return this.remote === undefined;
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const target: SqlExecutor = this.#tx ?? this.client;
    const result = await target.execute({
      sql: query.sql,
      args: query.parameters as InArgs,
      oneRow: oneRowQueries.has(query),
    });
    return {
      insertId: result.lastInsertRowid,
      numAffectedRows: BigInt(result.rowsAffected),
      rows: result.rows as R[],
    };
  }

  async begin(): Promise<void> {
    if (this.remote) this.#tx = await this.remote.transaction("write");
    else await this.client.execute("BEGIN IMMEDIATE");
  }

  async commit(): Promise<void> {
    if (this.local) {
      await this.client.execute("COMMIT");
    } else {
      await this.#tx!.commit();
      this.#tx = undefined;
    }
  }

  async rollback(): Promise<void> {
    if (!this.local) {
      await this.#tx?.rollback();
      this.#tx = undefined;
      return;
    }
    try {
      await this.client.execute("ROLLBACK");
    } catch (err) {
      // SQLite may already have rolled back on its own (e.g. after SQLITE_FULL).
      if (!/no transaction is active/i.test(String(err))) throw err;
    }
  }

  // deno-lint-ignore require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error("streaming queries are not supported by the libSQL driver");
  }
}

export class LibsqlDriver implements Driver {
  readonly #shared: LibsqlConnection | undefined;
  #release: (() => void) | undefined;

  /** A local file (its one connection, taken in turns) or a remote client. */
  constructor(readonly source: LocalDatabase | Client, readonly mutex: Mutex) {
    this.#shared = this.local ? new LibsqlConnection(source, undefined) : undefined;
  }

  get local(): boolean {
    return this.source instanceof LocalDatabase;
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    if (!this.#shared) return new LibsqlConnection(this.source, this.source as Client);
    this.#release = await this.mutex.lock();
    return this.#shared;
  }

  beginTransaction(conn: DatabaseConnection, _settings: TransactionSettings): Promise<void> {
    return (conn as LibsqlConnection).begin();
  }

  commitTransaction(conn: DatabaseConnection): Promise<void> {
    return (conn as LibsqlConnection).commit();
  }

  rollbackTransaction(conn: DatabaseConnection): Promise<void> {
    return (conn as LibsqlConnection).rollback();
  }

  releaseConnection(): Promise<void> {
    if (this.local) {
      const release = this.#release;
      this.#release = undefined;
      release?.();
    }
    return Promise.resolve();
  }

  destroy(): Promise<void> {
    this.source.close();
    return Promise.resolve();
  }
}
