// The local libSQL file layer: prepared statements kept across calls, arguments converted,
// and the durability setting applied to the connection.
import assert from "node:assert/strict";
import { sql } from "kysely";
import { openDatabase } from "@/db/client.ts";
import { LocalDatabase } from "@/db/local.ts";
import { tempDir } from "../fixtures/mod.ts";

/** Runs `fn` on a fresh database file, then closes and removes it. */
async function withDatabase(fn: (db: LocalDatabase) => Promise<void>): Promise<void> {
  const dir = await tempDir();
  const db = new LocalDatabase(`${dir}/t.db`);
  try {
    await fn(db);
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a kept statement answers correctly on every call, with each call's arguments", () =>
  withDatabase(async (db) => {
    await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, flag INTEGER)");
    for (let i = 1; i <= 3; i++) {
      await db.execute({
        sql: "INSERT INTO t (name, flag) VALUES (?, ?)",
        args: [`n${i}`, i % 2 === 0],
      });
    }
    const query = "SELECT id, name, flag FROM t WHERE id = ?";
    for (let i = 1; i <= 3; i++) {
      const { rows } = await db.execute({ sql: query, args: [i] });
      assert.deepEqual(rows, [{ id: i, name: `n${i}`, flag: i % 2 === 0 ? 1 : 0 }]);
    }
    const named = await db.execute({
      sql: "SELECT name FROM t WHERE id = :id",
      args: { ":id": 2 },
    });
    assert.deepEqual(named.rows, [{ name: "n2" }]);
  }));

Deno.test("writes report rows changed and the new row id", () =>
  withDatabase(async (db) => {
    await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)");
    const insert = await db.execute({ sql: "INSERT INTO t (name) VALUES (?)", args: ["a"] });
    assert.equal(insert.lastInsertRowid, 1n);
    await db.execute({ sql: "INSERT INTO t (name) VALUES (?)", args: ["b"] });
    const update = await db.execute({ sql: "UPDATE t SET name = ? WHERE id > ?", args: ["c", 0] });
    assert.equal(update.rowsAffected, 2);
  }));

Deno.test("after the schema changes (script or statement), SELECT * sees the new columns", () =>
  withDatabase(async (db) => {
    await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)");
    await db.execute("INSERT INTO t (id) VALUES (1)");
    assert.deepEqual((await db.execute("SELECT * FROM t")).rows, [{ id: 1 }]);
    await db.executeMultiple("ALTER TABLE t ADD COLUMN note TEXT DEFAULT 'x';");
    assert.deepEqual((await db.execute("SELECT * FROM t")).rows, [{ id: 1, note: "x" }]);
    await db.execute("ALTER TABLE t ADD COLUMN other INTEGER DEFAULT 7");
    assert.deepEqual((await db.execute("SELECT * FROM t")).rows, [{ id: 1, note: "x", other: 7 }]);
  }));

Deno.test("a bad statement is a rejected promise, and the connection keeps working", () =>
  withDatabase(async (db) => {
    await assert.rejects(db.execute("SELECT * FROM missing"), /no such table/);
    assert.deepEqual((await db.execute("SELECT 1 AS one")).rows, [{ one: 1 }]);
  }));

Deno.test("DATABASE_SYNC reaches the connection: NORMAL by default, FULL when asked", async () => {
  const dir = await tempDir();
  for (const [synchronous, level] of [[undefined, 1], ["FULL", 2]] as const) {
    const handle = await openDatabase({ url: `file:${dir}/${level}.db`, synchronous });
    try {
      const { rows } = await sql<{ synchronous: number }>`PRAGMA synchronous`.execute(handle.db);
      assert.equal(rows[0].synchronous, level);
    } finally {
      await handle.close();
    }
  }
  await Deno.remove(dir, { recursive: true });
});
