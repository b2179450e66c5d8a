// PostgreSQL as the shared database of several service instances: migrations from two at
// once, the races that SQLite's single writer used to settle (one direct room per pair, one
// message per client id, one teacher per desk room, increasing times within a room) settled
// by PostgreSQL between two servers with their own pools and between two service processes, and
// a clean 503 while the database is unreachable.
import assert from "node:assert/strict";
import { openDatabase } from "@/db/client.ts";
import { migrate, readMigrations } from "@/db/migrate.ts";
import { Conflict } from "@/lib/errors.ts";
import { io as connect } from "socket.io-client";
import {
  api,
  ask,
  chatWith,
  connected,
  createPostgresDatabase,
  engines,
  makeUser,
  openTestCore,
  person,
  POSTGRES_AVAILABLE,
  startTestServer,
  teacher,
  type TestDatabase,
  textFrame,
} from "../fixtures/mod.ts";

const ignore = !POSTGRES_AVAILABLE;

async function migrated(): Promise<TestDatabase> {
  const database = await createPostgresDatabase();
  const handle = await openDatabase({ url: database.url });
  await migrate(handle);
  await handle.close();
  return database;
}

Deno.test({
  name: "two processes migrating one PostgreSQL database at once apply each migration once",
  ignore,
  async fn() {
    const database = await createPostgresDatabase();
    const [a, b] = [
      await openDatabase({ url: database.url }),
      await openDatabase({ url: database.url }),
    ];
    try {
      const [fromA, fromB] = await Promise.all([migrate(a), migrate(b)]);
      const all = (await readMigrations("postgres")).map((m) => m.version);
      assert.deepEqual([...fromA, ...fromB].sort((x, y) => x - y), all);
      const ledger = await a.db.selectFrom("schema_migrations").select("version")
        .orderBy("version").execute();
      assert.deepEqual(ledger.map((r) => r.version), all);
      assert.equal(typeof ledger[0].version, "number", "int8 comes back as a number");
    } finally {
      await a.close();
      await b.close();
      await database.drop();
    }
  },
});

Deno.test({
  name:
    "two servers on one PostgreSQL database: one direct room per pair, one message per client id, one teacher per desk room",
  ignore,
  async fn() {
    const database = await migrated();
    try {
      await using a = await startTestServer({}, { database });
      await using b = await startTestServer({}, { database });
      const { user: ann } = await makeUser(a.core);
      const { user: bob } = await makeUser(b.core);

      // Both servers open the pair's room at once, in both orders.
      const rooms = await Promise.all(
        Array.from(
          { length: 20 },
          (_, i) =>
            i % 2 ? a.core.rooms.direct(ann.id, bob.id) : b.core.rooms.direct(bob.id, ann.id),
        ),
      );
      assert.equal(new Set(rooms.map((r) => r.id)).size, 1, "one room for the pair");
      const room = rooms[0];
      assert.equal((await a.core.rooms.members(room.id)).length, 2);

      // A retried send reaching both servers is stored once.
      const sends = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 ? a : b).core.messages.send({
            roomId: room.id,
            authorId: ann.id,
            text: "once",
            clientId: "retry-1",
          })),
      );
      assert.equal(new Set(sends.map((s) => s.message.id)).size, 1, "one message");
      assert.equal(sends.filter((s) => !s.duplicate).length, 1);

      // Sends to one room from both servers: ids and times increase together.
      await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          (i % 2 ? a : b).core.messages.send({
            roomId: room.id,
            authorId: i % 3 ? ann.id : bob.id,
            text: `m${i}`,
          })),
      );
      const stored = await a.core.messages.history(room.id, ann.id, { limit: 100 });
      assert.equal(stored.messages.length, 61);
      for (let i = 1; i < stored.messages.length; i++) {
        const [prev, next] = [stored.messages[i - 1], stored.messages[i]];
        assert.ok(next.createdAt > prev.createdAt, `message ${next.id} is later than ${prev.id}`);
      }

      // Teachers on both servers race for one waiting desk room: exactly one wins.
      const { user: student } = await makeUser(a.core);
      const teachers = await Promise.all(
        [a, b, a, b].map(async (srv) => (await makeUser(srv.core, { role: "teacher" })).user),
      );
      const desk = await a.core.desk.open(student.id, "help");
      const outcomes = await Promise.allSettled(
        teachers.map((t, i) => (i % 2 ? a : b).core.desk.join(desk.id, t.id)),
      );
      const won = outcomes.filter((o) => o.status === "fulfilled" && o.value.joined);
      assert.equal(won.length, 1, "one teacher took the room");
      for (const o of outcomes) {
        if (o.status === "rejected") assert.ok(o.reason instanceof Conflict, String(o.reason));
      }
    } finally {
      await database.drop();
    }
  },
});

/** A TCP relay to PostgreSQL that the test can cut and restore: the database "goes away". */
function relay(port: number) {
  let listener: Deno.Listener | undefined;
  const open = new Set<Deno.Conn>();
  function start() {
    listener = Deno.listen({ hostname: "127.0.0.1", port });
    (async () => {
      for await (const conn of listener!) {
        open.add(conn);
        Deno.connect({ hostname: "127.0.0.1", port: 5432 }).then((upstream) => {
          open.add(upstream);
          const close = () => {
            for (const c of [conn, upstream]) {
              open.delete(c);
              try {
                c.close();
              } catch { /* already closed */ }
            }
          };
          conn.readable.pipeTo(upstream.writable).catch(() => {}).finally(close);
          upstream.readable.pipeTo(conn.writable).catch(() => {}).finally(close);
        }, () => conn.close());
      }
    })().catch(() => {});
  }
  function cut() {
    listener?.close();
    listener = undefined;
    for (const conn of open) {
      try {
        conn.close();
      } catch { /* already closed */ }
    }
    open.clear();
  }
  start();
  return { port: (listener!.addr as Deno.NetAddr).port, cut, restore: start };
}

Deno.test({
  name:
    "an unreachable PostgreSQL gives 503 {detail} and a failing /readyz, and service resumes when it is back",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const database = await migrated();
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    const link = relay(port);
    try {
      const url = new URL(database.url);
      url.port = String(link.port);
      await using srv = await startTestServer({
        DATABASE_URL: url.href,
        DATABASE_CONNECT_TIMEOUT: "2",
      }, { database });
      const who = await person(srv);
      assert.equal((await api(srv, "GET", "/auth/profile/", { token: who.access })).status, 200);

      link.cut();
      const down = await api(srv, "GET", "/auth/profile/", { token: who.access });
      assert.equal(down.status, 503, JSON.stringify(down.body));
      assert.deepEqual(Object.keys(down.body), ["detail"]);
      assert.match(down.body.detail, /database/i);
      assert.doesNotMatch(down.body.detail, /ECONN|terminated|pg|postgres/i);
      const ready = await fetch(`${srv.url}/readyz`);
      assert.equal(ready.status, 503);
      await ready.body?.cancel();

      link.restore();
      const back = await api(srv, "GET", "/auth/profile/", { token: who.access });
      assert.equal(back.status, 200, JSON.stringify(back.body));
      assert.equal(await fetch(`${srv.url}/readyz`).then((r) => r.status), 200);
    } finally {
      link.cut();
      await database.drop();
    }
  },
});

Deno.test({
  name:
    "migration 0003 on PostgreSQL keeps attachments and their ids, and lets uploads be anonymous",
  ignore,
  async fn() {
    const database = await createPostgresDatabase();
    const handle = await openDatabase({ url: database.url });
    try {
      const all = await readMigrations("postgres");
      await migrate(handle, all.filter((m) => m.version < 3));
      const db = handle.db;
      const user = await db.insertInto("users")
        .values({ username: "ann", password: "!", date_joined: 1, last_seen: null, email: null })
        .returning("id").executeTakeFirstOrThrow();
      const kept = await db.insertInto("attachments").values({
        uploader_id: user.id,
        storage: "local",
        key: "k1",
        name: "a.png",
        content_type: "image/png",
        size: 3,
        created_at: 1,
      }).returning("id").executeTakeFirstOrThrow();
      assert.deepEqual(await migrate(handle), [3]);
      const row = await db.selectFrom("attachments").selectAll().executeTakeFirstOrThrow();
      assert.equal(row.id, kept.id);
      assert.equal(row.url_expires_at, null);
      const anonymous = await db.insertInto("attachments").values({
        uploader_id: null,
        storage: "s3",
        key: "k2",
        name: "b.pdf",
        content_type: "application/pdf",
        size: 5,
        created_at: 2,
        url_expires_at: 9_999_999_999_999,
      }).returningAll().executeTakeFirstOrThrow();
      assert.ok(anonymous.id > kept.id, "ids go on from where they were");
      assert.equal(anonymous.url_expires_at, 9_999_999_999_999, "a 64-bit time, as a number");
    } finally {
      await handle.close();
      await database.drop();
    }
  },
});

engines.test("a message with a NUL character is stored and read back on either engine", async () => {
  await using t = await openTestCore();
  const { user: ann } = await makeUser(t.core);
  const { user: bob } = await makeUser(t.core);
  const room = await t.core.rooms.direct(ann.id, bob.id);
  const { message } = await t.core.messages.send({
    roomId: room.id,
    authorId: ann.id,
    text: "a\u0000b",
    clientId: "nul\u0000id",
  });
  const again = await t.core.messages.send({
    roomId: room.id,
    authorId: ann.id,
    text: "a\u0000b",
    clientId: "nul\u0000id",
  });
  assert.equal(again.message.id, message.id, "the retry matches the first send");
  const page = await t.core.messages.history(room.id, bob.id);
  assert.equal(page.messages.length, 1);
});

const SECRET = "a-test-secret-of-at-least-thirty-two-characters";
const script = (path: string) => new URL(import.meta.resolve(path)).pathname;

/** Runs a Deno script with `env` and `args`; its exit code and output. */
async function run(path: string, env: Record<string, string>, args: string[] = []) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", script(path), ...args],
    env: { NO_COLOR: "1", PASSWORD_ITERATIONS: "1000", ...env },
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, text };
}

Deno.test({
  name: "deno task migrate and deno task user:create work against PostgreSQL",
  ignore,
  async fn() {
    const database = await createPostgresDatabase();
    try {
      const env = { DATABASE_URL: database.url, JWT_SECRET: SECRET };
      const first = await run("@/scripts/migrate.ts", env);
      assert.equal(first.code, 0, first.text);
      assert.match(first.text, /applied migrations: 1, 2, 3/);
      const again = await run("@/scripts/migrate.ts", env);
      assert.match(again.text, /database is up to date/);
      const created = await run("@/scripts/user_create.ts", env, [
        "--username",
        "ada",
        "--password",
        "pleasant-walrus-42",
        "--role",
        "teacher",
        "--email",
        "Ada@Example.com",
      ]);
      assert.equal(created.code, 0, created.text);
      assert.match(created.text, /created teacher ada \(id 1\)/);
      const twice = await run("@/scripts/user_create.ts", env, [
        "--username",
        "ada2",
        "--password",
        "pleasant-walrus-42",
        "--email",
        "ADA@example.COM",
      ]);
      assert.notEqual(twice.code, 0, "an e-mail is taken whatever its case");
      assert.match(twice.text, /email/i);
    } finally {
      await database.drop();
    }
  },
});

Deno.test({
  name:
    "a second service process on the same PostgreSQL database: one direct room per pair, one message per client id, one teacher per desk room",
  ignore,
  async fn() {
    const database = await migrated();
    const dataDir = await Deno.makeTempDir({ prefix: "chat-pg-process-" });
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", script("@/main.ts")],
      env: {
        NO_COLOR: "1",
        DATABASE_URL: database.url,
        JWT_SECRET: SECRET,
        DATA_DIR: dataDir,
        HOST: "127.0.0.1",
        PORT: "0",
        LOG_LEVEL: "info",
      },
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    try {
      // Its first log line with a URL says where it listens.
      let url = "";
      let buffer = "";
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      while (!url) {
        const { value, done } = await reader.read();
        if (done) throw new Error("the second process ended before listening");
        buffer += value;
        url = /"url":"(http:[^"]+)"/.exec(buffer)?.[1] ?? "";
      }
      reader.releaseLock();
      child.stdout.cancel().catch(() => {});

      await using srv = await startTestServer({ JWT_SECRET: SECRET }, { database });
      const ann = await person(srv);
      const bob = await person(srv);
      // inbox opens the direct room by username; this process opens it through the core.
      const remote = Array.from(
        { length: 10 },
        () =>
          fetch(`${url}/api/rooms/${bob.user.username}/messages`, {
            headers: { authorization: `Bearer ${ann.access}` },
          }).then(async (r) => {
            await r.body?.cancel();
            return r.status;
          }),
      );
      const local = Array.from(
        { length: 10 },
        (_, i) =>
          i % 2 ? srv.core.rooms.direct(ann.user.id, bob.user.id) : srv.core.rooms.direct(
            bob.user.id,
            ann.user.id,
          ),
      );
      const [statuses, rooms] = await Promise.all([Promise.all(remote), Promise.all(local)]);
      assert.deepEqual(statuses, Array(10).fill(200));
      assert.equal(new Set(rooms.map((r) => r.id)).size, 1);
      const check = await openDatabase({ url: database.url });
      try {
        const direct = await check.db.selectFrom("rooms").select("id")
          .where("kind", "=", "direct").execute();
        assert.equal(direct.length, 1, "one direct room in the database");
        const members = await check.db.selectFrom("members").select("user_id")
          .where("room_id", "=", direct[0].id).execute();
        assert.equal(members.length, 2);

        // One message per client id: Ann's tab on each process sends the same retry at once.
        const here = await chatWith(srv, ann, bob.user.username);
        const there = await chatWith({ url }, ann, bob.user.username);
        try {
          for (const socket of [here, there]) {
            socket.send(textFrame("once", bob.user.username, { client_id: "race-1" }));
          }
          const [one, two] = await Promise.all([
            here.frame("chat_message"),
            there.frame("chat_message"),
          ]);
          assert.equal(one.id, two.id, "both processes answer with the one stored message");
        } finally {
          await here.close();
          await there.close();
        }
        const stored = await check.db.selectFrom("messages").select("id")
          .where("client_id", "=", "race-1").execute();
        assert.equal(stored.length, 1, "one row for the client id");

        // One teacher per desk room: a teacher on each process takes the room at once.
        const s = await person(srv);
        const t1 = await teacher(srv);
        const t2 = await teacher(srv);
        const room = await srv.core.desk.open(s.user.id, "Who takes it?");
        const onChild = connect(url, {
          auth: { access_token: t1.access },
          forceNew: true,
          reconnection: false,
        });
        const onTest = connect(srv.url, {
          auth: { access_token: t2.access },
          forceNew: true,
          reconnection: false,
        });
        try {
          await Promise.all([connected(onChild), connected(onTest)]);
          const replies = await Promise.all([
            ask(onChild, "join_room", { room: room.id }),
            ask(onTest, "join_room", { room: room.id }),
          ]);
          const taken = replies.filter((r) => r?.error === undefined);
          assert.equal(taken.length, 1, JSON.stringify(replies));
          const row = await check.db.selectFrom("rooms").select("teacher_id")
            .where("id", "=", room.id).executeTakeFirstOrThrow();
          assert.ok([t1.user.id, t2.user.id].includes(row.teacher_id!));
        } finally {
          onChild.disconnect();
          onTest.disconnect();
        }
      } finally {
        await check.close();
      }
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await database.drop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  },
});
