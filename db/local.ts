// A local libSQL file, opened with the `libsql` package directly and keeping its prepared
// statements. @libsql/client prepares every statement again and asks for its column names on
// each execute; under Deno's Node-API that is most of a small query's cost (~100 µs for a
// one-row SELECT *). Here a statement is prepared once per SQL text and its column names are
// read once.
import type { InArgs } from "@libsql/client";
import Database from "libsql";

export type SqlValue = string | number | bigint | null | Uint8Array;

export interface SqlStatement {
  sql: string;
  args?: InArgs;
  /** The statement returns at most one row: a file database then reads it in one call. */
  oneRow?: boolean;
}

export interface SqlResult {
  rows: Record<string, unknown>[];
  rowsAffected: number;
  lastInsertRowid: bigint | undefined;
}

/** What the Kysely driver needs from a database: one statement at a time. */
export interface SqlExecutor {
  execute(stmt: string | SqlStatement): Promise<SqlResult>;
}

interface Prepared {
  stmt: Database.Statement;
  /** Column names for statements that return rows; undefined for the others. */
  columns: string[] | undefined;
}

/** Statements kept; beyond this (e.g. IN lists of every length) the cache starts again. */
const CACHE_LIMIT = 512;
const SCHEMA_CHANGE = /^\s*(ALTER|CREATE|DROP)\b/i;

function toSql(value: unknown): SqlValue {
  if (value === undefined || value === null) return null;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value instanceof Date) return value.valueOf();
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return value as SqlValue;
}

export class LocalDatabase implements SqlExecutor {
  readonly #db: Database.Database;
  readonly #cache = new Map<string, Prepared>();

  constructor(path: string) {
    this.#db = new Database(path);
  }

  #prepare(sql: string): Prepared {
    let prepared = this.#cache.get(sql);
    if (!prepared) {
      if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
      const stmt = this.#db.prepare(sql);
      const columns = stmt.reader ? stmt.raw(true).columns().map((c) => c.name) : undefined;
      prepared = { stmt, columns };
      this.#cache.set(sql, prepared);
    }
    return prepared;
  }

  #run(statement: string | SqlStatement): SqlResult {
    const sql = typeof statement === "string" ? statement : statement.sql;
    const given = typeof statement === "string" ? undefined : statement.args;
    const args = Array.isArray(given) ? given.map(toSql) : given
      ? Object.fromEntries(
        Object.entries(given).map(([k, v]) => [k.replace(/^[:@$]/, ""), toSql(v)]),
      )
      : [];
    const { stmt, columns } = this.#prepare(sql);
    if (columns === undefined) {
      const info = stmt.run(args);
      // Kept SELECT * statements would go on naming the old columns.
      if (SCHEMA_CHANGE.test(sql)) this.#cache.clear();
      return {
        rows: [],
        rowsAffected: info.changes,
        lastInsertRowid: BigInt(info.lastInsertRowid),
      };
    }
    const toRow = (values: unknown[]) => {
      const row: Record<string, unknown> = {};
      for (let i = 0; i < columns.length; i++) row[columns[i]] = values[i];
      return row;
    };
    // get() is one call into the native module; all() takes two (run, then fetch the rows).
    const rows = typeof statement !== "string" && statement.oneRow
      ? [stmt.get(args) as unknown[] | undefined].filter((v) => v !== undefined).map(toRow)
      : (stmt.all(args) as unknown[][]).map(toRow);
    return { rows, rowsAffected: 0, lastInsertRowid: undefined };
  }

  execute(statement: string | SqlStatement): Promise<SqlResult> {
    try {
      return Promise.resolve(this.#run(statement));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Runs a script of several statements; prepared statements are dropped (it may migrate). */
  executeMultiple(script: string): Promise<void> {
    try {
      this.#cache.clear();
      this.#db.exec(script);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** True while a transaction is open on the connection. */
  get inTransaction(): boolean {
    return this.#db.inTransaction;
  }

  close(): void {
    this.#cache.clear();
    this.#db.close();
  }
}
