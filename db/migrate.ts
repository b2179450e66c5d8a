// Applies the numbered SQL files of migrations/ in order, each once, each in its own write
// transaction that also records it. BEGIN IMMEDIATE (an advisory lock on PostgreSQL) makes a
// second process wait for the first and then find the work done, so concurrent starts are safe.
//
// One migration, two files: migrations/NNNN_name.sql for libSQL and
// migrations/postgres/NNNN_name.sql for PostgreSQL, in lock-step (same numbers and names;
// tests/core/schema_parity.test.ts fails when the schemas they build differ).
import type { DatabaseHandle } from "./client.ts";
import type { Engine } from "./engine.ts";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const MIGRATIONS_DIRS: Record<Engine, URL> = {
  sqlite: new URL("../migrations/", import.meta.url),
  postgres: new URL("../migrations/postgres/", import.meta.url),
};

/**
 * Reads `NNNN_name.sql` files (of an engine's folder, libSQL's by default), sorted by number.
 * Duplicate numbers are an error.
 */
export async function readMigrations(from: URL | Engine = "sqlite"): Promise<Migration[]> {
  const dir = from instanceof URL ? from : MIGRATIONS_DIRS[from];
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

const CREATE_LEDGER: Record<Engine, string> = {
  sqlite: `CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INTEGER PRIMARY KEY,
  name       TEXT    NOT NULL,
  applied_at INTEGER NOT NULL
)`,
  postgres: `CREATE TABLE IF NOT EXISTS schema_migrations (
  version    BIGINT PRIMARY KEY,
  name       TEXT   NOT NULL,
  applied_at BIGINT NOT NULL
)`,
};

/** Applies what is missing; returns the versions applied by this call. */
export async function migrate(
  handle: DatabaseHandle,
  migrations?: Migration[],
): Promise<number[]> {
  const all = migrations ?? await readMigrations(handle.engine);
  await handle.runScriptOnce(null, CREATE_LEDGER[handle.engine]);
  const applied: number[] = [];
  // Most starts find everything applied: one read instead of a transaction per migration.
  // What is missing is still checked again under the lock before it runs.
  const done = new Set(
    (await handle.db.selectFrom("schema_migrations").select("version").execute())
      .map((r) => Number(r.version)),
  );
  for (const migration of all) {
    if (done.has(migration.version)) continue;
    const record = `INSERT INTO schema_migrations (version, name, applied_at) VALUES (` +
      `${migration.version}, '${migration.name.replaceAll("'", "''")}', ${Date.now()});`;
    const ran = await handle.runScriptOnce(
      migration.version,
      // The newline ends a trailing `--` comment in the file before our statements.
      `${migration.sql}\n;\n${record}`,
    );
    if (ran) applied.push(migration.version);
  }
  return applied;
}
