// Applies the numbered SQL files of migrations/ in order, each once, each in its own write
// transaction that also records it. BEGIN IMMEDIATE makes a second process wait for the
// first and then find the work done, so concurrent starts on one file are safe.
import type { DatabaseHandle } from "./client.ts";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const MIGRATIONS_DIR = new URL("../migrations/", import.meta.url);

/** Reads `NNNN_name.sql` files, sorted by number. Duplicate numbers are an error. */
export async function readMigrations(dir: URL = MIGRATIONS_DIR): Promise<Migration[]> {
  const found: Migration[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const m = /^(\d+)_([\w-]+)\.sql$/.exec(entry.name);
    if (!entry.isFile || !m) continue;
    found.push({
      version: Number(m[1]),
      name: m[2],
      sql: await Deno.readTextFile(new URL(entry.name, dir)),
    });
  }
  found.sort((a, b) => a.version - b.version);
  for (let i = 1; i < found.length; i++) {
    if (found[i].version === found[i - 1].version) {
      throw new Error(`two migrations share number ${found[i].version}`);
    }
  }
  return found;
}

const CREATE_LEDGER = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INTEGER PRIMARY KEY,
  name       TEXT    NOT NULL,
  applied_at INTEGER NOT NULL
)`;

/** Applies what is missing; returns the versions applied by this call. */
export async function migrate(
  handle: DatabaseHandle,
  migrations?: Migration[],
): Promise<number[]> {
  const all = migrations ?? await readMigrations();
  await handle.runScriptOnce({ sql: "SELECT 1 WHERE 0" }, CREATE_LEDGER);
  const applied: number[] = [];
  for (const migration of all) {
    const record = `INSERT INTO schema_migrations (version, name, applied_at) VALUES (` +
      `${migration.version}, '${migration.name.replaceAll("'", "''")}', ${Date.now()});`;
    const ran = await handle.runScriptOnce(
      { sql: "SELECT 1 FROM schema_migrations WHERE version = ?", args: [migration.version] },
      // The newline ends a trailing `--` comment in the file before our statements.
      `${migration.sql}\n;\n${record}`,
    );
    if (ran) applied.push(migration.version);
  }
  return applied;
}
