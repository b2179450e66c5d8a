// GET /api/<room>/messages/ without paging parameters: the whole history, streamed page by page
// with bounded memory, as a snapshot of the moment the request came, up to HISTORY_MAX.
import assert from "node:assert/strict";
import { LIMITS } from "@/lib/limits.ts";
import { counterValue } from "@/lib/metrics.ts";
import {
  api,
  engagedRoom,
  engines,
  seedMessages,
  startTestServer,
  student,
  teacher,
  type TestServer,
  waitFor,
} from "../fixtures/mod.ts";

const pagesRead = (srv: TestServer) =>
  counterValue(srv.metrics.listPages, { list: "desk_messages" });
const streams = (srv: TestServer, outcome: string) =>
  counterValue(srv.metrics.listStreams, { list: "desk_messages", outcome });

/** The whole-history request, its body not yet read. */
async function openHistory(srv: TestServer, roomId: number, token: string) {
  const aborter = new AbortController();
  const res = await fetch(`${srv.url}/api/${roomId}/messages/`, {
    headers: { authorization: `Bearer ${token}` },
    signal: aborter.signal,
  });
  assert.equal(res.status, 200);
  return { res, reader: res.body!.getReader(), aborter };
}

/** A room whose history is far larger than what socket buffers hold: 25 pages of ~0.8 MB (20 MB). */
async function bigRoom(srv: TestServer) {
  const s = await student(srv);
  const t = await teacher(srv);
  const room = await engagedRoom(srv, s, t);
  const count = 25 * LIMITS.historyStreamPage;
  const sent = await seedMessages(
    srv.core,
    room.id,
    s.user.id,
    count,
    (i) => `${i} ${"x".repeat(3900)}`,
  );
  return { s, t, room, sent, pages: count / LIMITS.historyStreamPage };
}

engines.test("GET /api/<room>/messages/ streams thousands of messages oldest first, holding at most one page of rows", async () => {
  await using srv = await startTestServer();
  const s = await student(srv);
  const t = await teacher(srv);
  const room = await engagedRoom(srv, s, t);
  const sent = await seedMessages(srv.core, room.id, s.user.id, 3000);

  const res = await api(srv, "GET", `/api/${room.id}/messages/`, { token: t.access });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.map((m: { id: number }) => m.id), sent.map((m) => m.id));
  assert.deepEqual(res.body.map((m: { text: string }) => m.text), sent.map((m) => m.text));
  assert.equal(res.headers.get("x-total-count"), "3000");
  assert.equal(res.headers.get("x-history-truncated"), "false");
  assert.equal(res.headers.get("link"), null);

  const peak = await counterValue(srv.metrics.listRowsPeak, { list: "desk_messages" });
  assert.ok(peak > 0 && peak <= LIMITS.historyStreamPage, `held ${peak} rows at once`);
  assert.ok(await pagesRead(srv) >= 3000 / LIMITS.historyStreamPage);
  assert.equal(await streams(srv, "complete"), 1);
});

engines.test("GET /api/<room>/messages/ beyond HISTORY_MAX returns the newest HISTORY_MAX, oldest first, and links to the older ones", async () => {
  await using srv = await startTestServer({ HISTORY_MAX: "50" });
  const s = await student(srv);
  const t = await teacher(srv);
  const room = await engagedRoom(srv, s, t);
  const ids = (await seedMessages(srv.core, room.id, s.user.id, 120)).map((m) => m.id);

  const res = await api(srv, "GET", `/api/${room.id}/messages/`, { token: s.access });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.map((m: { id: number }) => m.id), ids.slice(70));
  assert.equal(res.headers.get("x-total-count"), "120");
  assert.equal(res.headers.get("x-history-truncated"), "true");
  const link = res.headers.get("link")!;
  assert.equal(link, `</api/${room.id}/messages/?before=${ids[70]}&limit=100>; rel="next"`);
  assert.match(res.headers.get("access-control-expose-headers")!, /Link/);

  const older = await api(srv, "GET", /<([^>]+)>/.exec(link)![1], { token: s.access });
  assert.equal(older.status, 200);
  assert.deepEqual(older.body.map((m: { id: number }) => m.id), ids.slice(0, 70));

  // Exactly HISTORY_MAX messages are all of them.
  const full = await engagedRoom(srv, s, t);
  await seedMessages(srv.core, full.id, s.user.id, 50);
  const all = await api(srv, "GET", `/api/${full.id}/messages/`, { token: s.access });
  assert.equal(all.body.length, 50);
  assert.equal(all.headers.get("x-history-truncated"), "false");
  assert.equal(all.headers.get("link"), null);
});

engines.test("GET /api/<room>/messages/ derives seen from the read pointers in the streamed form too", async () => {
  await using srv = await startTestServer();
  const s = await student(srv);
  const t = await teacher(srv);
  const room = await engagedRoom(srv, s, t);
  await seedMessages(srv.core, room.id, s.user.id, 3);
  await srv.core.desk.markSeen(room.id, t.user.id);
  await seedMessages(srv.core, room.id, s.user.id, 2);
  await srv.core.messages.send({ roomId: room.id, authorId: t.user.id, text: "reply" });

  const res = await api(srv, "GET", `/api/${room.id}/messages/`, { token: s.access });
  assert.deepEqual(
    res.body.map((m: { seen: boolean }) => m.seen),
    [true, true, true, false, false, false],
  );
});

engines.test("a message sent while GET /api/<room>/messages/ streams is not in that response", async () => {
  await using srv = await startTestServer();
  const { s, room, sent, pages } = await bigRoom(srv);
  const { reader } = await openHistory(srv, room.id, s.access);
  const first = await reader.read();
  assert.ok(first.value && first.value.length > 0);

  const late = await srv.core.messages.send({ roomId: room.id, authorId: s.user.id, text: "late" });
  // The stream was still under way: pages were read after the late message was committed.
  assert.ok(await pagesRead(srv) < pages, "the whole history fitted in the socket buffers");

  const decoder = new TextDecoder();
  let text = decoder.decode(first.value, { stream: true });
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    text += decoder.decode(chunk.value, { stream: true });
  }
  const body = JSON.parse(text + decoder.decode());
  assert.deepEqual(body.map((m: { id: number }) => m.id), sent.map((m) => m.id));
  assert.ok(!body.some((m: { id: number }) => m.id === late.message.id));
});

engines.test("a client that leaves during GET /api/<room>/messages/ stops the reading of pages", async () => {
  await using srv = await startTestServer();
  const { s, room, pages } = await bigRoom(srv);
  const { reader, aborter } = await openHistory(srv, room.id, s.access);
  await reader.read();
  aborter.abort();
  await reader.cancel().catch(() => {});

  await waitFor(async () => await streams(srv, "cancelled") === 1, {
    what: "the cancelled stream",
  });
  const read = await pagesRead(srv);
  assert.ok(read < pages, `read ${read} of ${pages} pages`);
  // Nothing is read afterwards, not even the page that was being read when the client left.
  assert.equal((await api(srv, "GET", "/healthz")).status, 200);
  assert.equal(await pagesRead(srv), read);
  assert.equal(await streams(srv, "complete"), 0);
});
