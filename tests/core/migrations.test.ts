// Migrations: applied once each and recorded, safe when two handles start at once, atomic
// when one fails; and the connection pragmas that every query relies on.
import assert from "node:assert/strict";
import { sql } from "kysely";
import { type DatabaseHandle, openDatabase } from "@/db/client.ts";
import { migrate, type Migration, readMigrations } from "@/db/migrate.ts";
import { tempDir } from "../fixtures/mod.ts";

const EXPECTED_TABLES = [
  "attachments",
  "members",
  "messages",
  "pending_signups",
  "refresh_tokens",
  "rooms",
  "sessions",
  "users",
];

/** A fresh, unmigrated database file in a temp dir. Use with `await using`. */
async function openEmpty() {
  const dir = await tempDir("chat-migrate-");
  const url = `file:${dir}/chat.db`;
  const handles: DatabaseHandle[] = [];
  return {
    dir,
    url,
    async open(): Promise<DatabaseHandle> {
      const handle = await openDatabase({ url });
      handles.push(handle);
      return handle;
    },
    async [Symbol.asyncDispose]() {
      for (const handle of handles) await handle.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

async function tableNames(handle: DatabaseHandle): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name
  `.execute(handle.db);
  return rows.map((r) => r.name);
}

async function ledger(handle: DatabaseHandle): Promise<{ version: number; name: string }[]> {
  const { rows } = await sql<{ version: number; name: string }>`
    SELECT version, name FROM schema_migrations ORDER BY version
  `.execute(handle.db);
  return rows.map((r) => ({ version: r.version, name: r.name }));
}

Deno.test("migrate() applies every migration to an empty file once and records each", async () => {
  await using env = await openEmpty();
  const handle = await env.open();
  const all = await readMigrations();
  assert.equal(all[0].version, 1);
  assert.deepEqual(all.map((m) => m.version), all.map((_, i) => i + 1), "numbered 1, 2, ...");

  const applied = await migrate(handle);
  assert.deepEqual(applied, all.map((m) => m.version));
  assert.deepEqual(await ledger(handle), all.map((m) => ({ version: m.version, name: m.name })));
  assert.deepEqual(await migrate(handle), [], "a second run applies nothing");
  assert.deepEqual(await ledger(handle), all.map((m) => ({ version: m.version, name: m.name })));

  const tables = await tableNames(handle);
  for (const table of EXPECTED_TABLES) assert.ok(tables.includes(table), `table ${table}`);
  assert.ok(tables.includes("schema_migrations"));
});

Deno.test("a new handle on a migrated file finds nothing left to apply", async () => {
  await using env = await openEmpty();
  const first = await env.open();
  await migrate(first);
  await first.close();
  const second = await env.open();
  assert.deepEqual(await migrate(second), []);
  assert.equal((await ledger(second)).length, (await readMigrations()).length);
});

Deno.test("two handles migrating one file at once apply each migration exactly once", async () => {
  await using env = await openEmpty();
  const a = await env.open();
  const b = await env.open();
  // Both start from the same list at the same moment, as two server starts would.
  const all = await readMigrations();
  const [fromA, fromB] = await Promise.all([migrate(a, all), migrate(b, all)]);
  assert.deepEqual(
    [...fromA, ...fromB].sort((x, y) => x - y),
    all.map((m) => m.version),
    "between them, every migration was applied once",
  );
  assert.deepEqual(await ledger(a), all.map((m) => ({ version: m.version, name: m.name })));
  const tables = await tableNames(b);
  for (const table of EXPECTED_TABLES) assert.ok(tables.includes(table), `table ${table}`);
});

Deno.test("a failing migration is rolled back whole and not recorded; earlier ones stay", async () => {
  await using env = await openEmpty();
  const handle = await env.open();
  const migrations: Migration[] = [
    { version: 1, name: "first", sql: "CREATE TABLE first_table (id INTEGER PRIMARY KEY);" },
    {
      version: 2,
      name: "broken",
      sql: `CREATE TABLE partial_table (id INTEGER PRIMARY KEY);
            INSERT INTO first_table (id) VALUES (1);
            CREATE TABLE broken (id INTEGER PRIMARY KEY, oops NOT A VALID COLUMN ,,);`,
    },
    { version: 3, name: "after", sql: "CREATE TABLE after_table (id INTEGER PRIMARY KEY);" },
  ];
  await assert.rejects(migrate(handle, migrations));

  assert.deepEqual(await ledger(handle), [{ version: 1, name: "first" }]);
  const tables = await tableNames(handle);
  assert.ok(tables.includes("first_table"));
  assert.ok(!tables.includes("partial_table"), "the failed migration's first table is gone");
  assert.ok(!tables.includes("after_table"), "nothing after the failure ran");
  const { rows } = await sql`SELECT id FROM first_table`.execute(handle.db);
  assert.deepEqual(rows, [], "the failed migration's insert was rolled back too");

  // Fixed, the same list applies the rest.
  migrations[1] = { ...migrations[1], sql: "CREATE TABLE partial_table (id INTEGER);" };
  assert.deepEqual(await migrate(handle, migrations), [2, 3]);
  assert.deepEqual((await ledger(handle)).map((r) => r.version), [1, 2, 3]);
});

Deno.test("foreign keys are on and the journal is WAL, also after a migration and a transaction", async () => {
  await using env = await openEmpty();
  const handle = await env.open();
  const pragmas = async () => {
    const fk = await sql<{ foreign_keys: number }>`PRAGMA foreign_keys`.execute(handle.db);
    const journal = await sql<{ journal_mode: string }>`PRAGMA journal_mode`.execute(handle.db);
    return { foreignKeys: fk.rows[0].foreign_keys, journal: journal.rows[0].journal_mode };
  };
  assert.deepEqual(await pragmas(), { foreignKeys: 1, journal: "wal" });
  await migrate(handle);
  assert.deepEqual(await pragmas(), { foreignKeys: 1, journal: "wal" });

  await handle.db.transaction().execute(async (trx) => {
    await trx.insertInto("users").values({
      username: "fk",
      password: "!",
      date_joined: 1,
      email: null,
      last_seen: null,
      current_room_id: null,
    }).execute();
  });
  assert.deepEqual(await pragmas(), { foreignKeys: 1, journal: "wal" });

  // Enforced, not just reported: a member of a room that does not exist is refused...
  await assert.rejects(
    handle.db.insertInto("members").values({ room_id: 424242, user_id: 1, joined_at: 1 })
      .execute(),
    /FOREIGN KEY/i,
  );
  // ...also inside a transaction.
  await assert.rejects(
    handle.db.transaction().execute(async (trx) => {
      await trx.insertInto("members").values({ room_id: 424242, user_id: 1, joined_at: 1 })
        .execute();
    }),
    /FOREIGN KEY/i,
  );
  assert.deepEqual(await pragmas(), { foreignKeys: 1, journal: "wal" });
});

Deno.test("the refresh successor column is added to a database that already holds tokens", async () => {
  await using env = await openEmpty();
  const handle = await env.open();
  const all = await readMigrations();
  assert.deepEqual(await migrate(handle, all.filter((m) => m.version === 1)), [1]);
  await sql`INSERT INTO users (username, password, date_joined) VALUES ('old', '!', 1)`
    .execute(handle.db);
  await sql`INSERT INTO sessions (id, user_id, created_at) VALUES ('s1', 1, 1)`.execute(handle.db);
  await sql`INSERT INTO refresh_tokens (jti, session_id, issued_at, expires_at, used_at)
    VALUES ('used', 's1', 1, 2, 1), ('live', 's1', 1, 2, NULL)`.execute(handle.db);

  const later = all.filter((m) => m.version > 1).map((m) => m.version);
  assert.ok(later.includes(2));
  assert.deepEqual(await migrate(handle, all), later);
  const rows = await handle.db.selectFrom("refresh_tokens").selectAll().orderBy("jti").execute();
  assert.deepEqual(rows, [
    {
      jti: "live",
      session_id: "s1",
      issued_at: 1,
      expires_at: 2,
      used_at: null,
      replaced_by: null,
    },
    { jti: "used", session_id: "s1", issued_at: 1, expires_at: 2, used_at: 1, replaced_by: null },
  ]);
});
