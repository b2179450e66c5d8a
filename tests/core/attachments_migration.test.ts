// Migration 0003 rebuilds the attachments table (uploader becomes optional, URL expiry added):
// existing attachments keep their ids and the messages that refer to them stay valid.
import assert from "node:assert/strict";
import { sql } from "kysely";
import { openDatabase } from "@/db/client.ts";
import { migrate, readMigrations } from "@/db/migrate.ts";
import { tempDir } from "../fixtures/mod.ts";

Deno.test("migration 0003 keeps existing attachments, their ids and the messages that use them", async () => {
  const dir = await tempDir("chat-migrate-0003-");
  const handle = await openDatabase({ url: `file:${dir}/chat.db` });
  try {
    const all = await readMigrations();
    await migrate(handle, all.filter((m) => m.version < 3));
    const db = handle.db;
    await sql`INSERT INTO users (id, username, password, date_joined) VALUES (1, 'ann', '!', 0),
      (2, 'bob', '!', 0)`.execute(db);
    await sql`INSERT INTO rooms (id, kind, created_at, user_low, user_high, last_activity_at)
      VALUES (1, 'direct', 0, 1, 2, 0)`.execute(db);
    await sql`INSERT INTO attachments (id, uploader_id, storage, key, name, content_type, size,
      created_at) VALUES (7, 1, 'local', 'k7', 'a.png', 'image/png', 3, 0),
      (9, 1, 'local', 'k9', 'b.png', 'image/png', 4, 0)`.execute(db);
    // The highest id ever used is 9; 9 is then removed, and must not be handed out again.
    await sql`DELETE FROM attachments WHERE id = 9`.execute(db);
    await sql`INSERT INTO messages (id, room_id, author_id, body, attachment_id, created_at)
      VALUES (1, 1, 1, 'see this', 7, 0)`.execute(db);

    assert.deepEqual(
      await migrate(handle),
      all.filter((m) => m.version >= 3).map((m) => m.version),
    );

    const kept = await db.selectFrom("attachments").selectAll().execute();
    assert.deepEqual(kept, [{
      id: 7,
      uploader_id: 1,
      storage: "local",
      key: "k7",
      name: "a.png",
      content_type: "image/png",
      size: 3,
      created_at: 0,
      url_expires_at: null,
    }]);
    const broken = await sql`PRAGMA foreign_key_check`.execute(db);
    assert.deepEqual(broken.rows, []);
    const message = await db.selectFrom("messages").select("attachment_id")
      .executeTakeFirstOrThrow();
    assert.equal(message.attachment_id, 7);

    // Anonymous uploads now fit, ids go on past the old high-water mark, and the foreign key
    // from messages points at the new table.
    const fresh = await db.insertInto("attachments").values({
      uploader_id: null,
      storage: "s3",
      key: "k10",
      name: "c.pdf",
      content_type: "application/pdf",
      size: 5,
      created_at: 1,
      url_expires_at: 1000,
    }).returning("id").executeTakeFirstOrThrow();
    assert.equal(fresh.id, 10);
    await assert.rejects(
      sql`INSERT INTO messages (room_id, author_id, body, attachment_id, created_at)
        VALUES (1, 1, 'x', 12345, 0)`.execute(db),
      /FOREIGN KEY/,
    );
    const tables = await sql<{ name: string }>`SELECT name FROM sqlite_master
      WHERE name LIKE 'attachments_%'`.execute(db);
    assert.deepEqual(tables.rows, [], "no scratch table left behind");
  } finally {
    await handle.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
