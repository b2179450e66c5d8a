// GET /api/rooms/{id}/messages/: the document's bare array (everything streamed with bounded
// memory, a snapshot, up to HISTORY_MAX) and, behind MEET_MESSAGES_SHAPE=results, the original
// front-end's `{"results": [...]}` paged by time.
import assert from "node:assert/strict";
import { LIMITS } from "@/lib/limits.ts";
import { counterValue } from "@/lib/metrics.ts";
import type { Message } from "@/lib/records.ts";
import {
  api,
  type Clock,
  createRoom,
  engines,
  person,
  seedMessages,
  shownAs,
  startTestServer,
} from "../fixtures/mod.ts";

const ids = (body: { id: number }[]) => body.map((m) => m.id);

engines.test("GET /api/rooms/{id}/messages/ streams a long history oldest first in the documented shape, one page of rows at a time", async () => {
  await using srv = await startTestServer();
  const a = await person(srv, { name: "Ada Lovelace" });
  const b = await person(srv, { name: "Alan Turing" });
  const room = await createRoom(srv, a);
  await srv.core.groups.enter(room.id, b.user.id);
  const [fromA, fromB] = await Promise.all([
    seedMessages(srv.core, room.id, a.user.id, 600),
    seedMessages(srv.core, room.id, b.user.id, 400),
  ]);
  const sent = [...fromA, ...fromB].sort((x, y) => x.id - y.id);

  const reply = await api(srv, "GET", `/api/rooms/${room.id}/messages/`, { token: b.access });
  assert.equal(reply.status, 200);
  assert.deepEqual(ids(reply.body), sent.map((m) => m.id));
  const authorOf = new Map(sent.map((m) => [m.id, m.authorId]));
  for (const message of reply.body) {
    assert.deepEqual(Object.keys(message).sort(), ["content", "created_at", "id", "user"]);
    assert.deepEqual(message.user, shownAs(authorOf.get(message.id) === a.user.id ? a : b));
  }
  assert.equal(reply.headers.get("x-total-count"), "1000");
  assert.equal(reply.headers.get("x-history-truncated"), "false");

  const peak = await counterValue(srv.metrics.listRowsPeak, { list: "meet_messages" });
  assert.ok(peak > 0 && peak <= LIMITS.historyStreamPage, `held ${peak} rows at once`);
  const pages = await counterValue(srv.metrics.listPages, { list: "meet_messages" });
  assert.ok(pages >= 1000 / LIMITS.historyStreamPage);
});

engines.test("GET /api/rooms/{id}/messages/ beyond HISTORY_MAX returns the newest ones and links to the older ones", async () => {
  await using srv = await startTestServer({ HISTORY_MAX: "30" });
  const who = await person(srv);
  const room = await createRoom(srv, who);
  const sent = (await seedMessages(srv.core, room.id, who.user.id, 45)).map((m) => m.id);

  const reply = await api(srv, "GET", `/api/rooms/${room.id}/messages/`, { token: who.access });
  assert.deepEqual(ids(reply.body), sent.slice(15));
  assert.equal(reply.headers.get("x-total-count"), "45");
  assert.equal(reply.headers.get("x-history-truncated"), "true");
  const link = reply.headers.get("link")!;
  assert.equal(link, `</api/rooms/${room.id}/messages/?before=${sent[15]}&limit=100>; rel="next"`);
  const older = await api(srv, "GET", /<([^>]+)>/.exec(link)![1], { token: who.access });
  assert.deepEqual(ids(older.body), sent.slice(0, 15));
});

engines.test("a whole history is a snapshot: messages sent while its pages are read are left out", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const room = await createRoom(srv, who);
  const sent = await seedMessages(
    srv.core,
    room.id,
    who.user.id,
    2 * LIMITS.historyStreamPage + 50,
  );

  const snapshot = await srv.core.groups.historySnapshot(room.id, who.user.id);
  const pages = snapshot.pages[Symbol.asyncIterator]();
  const seen: Message[] = [...(await pages.next()).value];
  const late = await srv.core.groups.send(room.id, who.user.id, "sent mid-stream");
  for (let page = await pages.next(); !page.done; page = await pages.next()) {
    seen.push(...page.value);
  }

  assert.equal(snapshot.total, sent.length);
  assert.deepEqual(seen.map((m) => m.id), sent.map((m) => m.id));
  assert.ok(!seen.some((m) => m.id === late.message.id));
});

/** A results-shaped server and a room with `count` messages one second apart, oldest first. */
async function timedRoom(count: number) {
  const clock: Clock = { now: Date.UTC(2024, 0, 1) };
  const srv = await startTestServer({ MEET_MESSAGES_SHAPE: "results" }, { clock });
  const who = await person(srv);
  const room = await createRoom(srv, who);
  const sent: Message[] = [];
  for (let i = 0; i < count; i++) {
    clock.now += 1000;
    sent.push((await srv.core.groups.send(room.id, who.user.id, `t${i}`)).message);
  }
  const get = (query = "") =>
    api(srv, "GET", `/api/rooms/${room.id}/messages/${query}`, { token: who.access });
  return { srv, who, room, sent, clock, get };
}

engines.test("with MEET_MESSAGES_SHAPE=results the history is {results}: the newest 50, ?limit= of them, ?before= a time strictly older", async () => {
  const { srv, sent, clock, get, room, who } = await timedRoom(60);
  await using _ = srv;
  const contents = (reply: { body: { results: { content: string }[] } }) =>
    reply.body.results.map((m) => m.content);
  const texts = sent.map((m) => m.text);

  const newest = await get();
  assert.equal(newest.status, 200);
  assert.deepEqual(Object.keys(newest.body), ["results"]);
  assert.deepEqual(contents(newest), texts.slice(10));
  assert.deepEqual(newest.body.results[0].user, shownAs(who));

  assert.deepEqual(contents(await get("?limit=3")), texts.slice(57));
  assert.equal((await get("?limit=200")).body.results.length, 60);

  // Paging back from the oldest shown: strictly older, the newest of them, ascending.
  const before = newest.body.results[0].created_at;
  assert.deepEqual(contents(await get(`?before=${before}&limit=5`)), texts.slice(5, 10));
  assert.deepEqual(
    contents(await get(`?before=${encodeURIComponent(before)}`)),
    texts.slice(0, 10),
  );
  // The same moment with an offset, and without a zone (read as UTC).
  const at = new Date(sent[20].createdAt);
  const plusTwo = new Date(at.getTime() + 2 * 3600_000).toISOString().replace("Z", "+02:00");
  assert.deepEqual(
    contents(await get(`?before=${encodeURIComponent(plusTwo)}`)),
    texts.slice(0, 20),
  );
  assert.deepEqual(
    contents(await get(`?before=${at.toISOString().slice(0, -1)}`)),
    texts.slice(0, 20),
  );
  assert.deepEqual(contents(await get(`?before=${new Date(sent[0].createdAt).toISOString()}`)), []);

  // Messages of one moment are all older, or none of them is.
  await srv.core.groups.send(room.id, who.user.id, "same moment a");
  await srv.core.groups.send(room.id, who.user.id, "same moment b");
  clock.now += 1000;
  const sameMoment = new Date(clock.now - 1000).toISOString();
  assert.deepEqual(contents(await get(`?before=${sameMoment}&limit=1`)), ["t58"]);
});

engines.test("with MEET_MESSAGES_SHAPE=results a bad ?before= or ?limit= is 400 with a field error", async () => {
  const { srv, get, who } = await timedRoom(1);
  await using _ = srv;
  for (
    const [query, field] of [
      ["?before=yesterday", "before"],
      ["?before=2024-13-01T00:00:00Z", "before"],
      ["?before=2024-02-30T00:00:00Z", "before"],
      ["?before=2024-01-01T25:00:00Z", "before"],
      ["?before=", "before"],
      ["?limit=0", "limit"],
      ["?limit=201", "limit"],
      ["?limit=abc", "limit"],
    ]
  ) {
    const reply = await get(query);
    assert.equal(reply.status, 400, query);
    assert.deepEqual(Object.keys(reply.body), [field], query);
    assert.equal(typeof reply.body[field][0], "string", query);
  }
  assert.deepEqual((await get("?limit=201")).body, {
    limit: ["Ensure this value is less than or equal to 200."],
  });
  assert.match((await get("?before=x")).body.before[0], /^Datetime has wrong format/);

  assert.equal(
    (await api(srv, "GET", "/api/rooms/999999/messages/", { token: who.access })).status,
    404,
  );
  assert.equal((await api(srv, "GET", "/api/rooms/999999/messages/")).status, 401);
});
