// GET /api/rooms/{id}/messages/: the document's bare array (everything streamed with bounded
// memory, a snapshot, up to HISTORY_MAX).
import assert from "node:assert/strict";
import { LIMITS } from "@/lib/limits.ts";
import { counterValue } from "@/lib/metrics.ts";
import type { Message } from "@/lib/records.ts";
import {
  api,
  createRoom,
  person,
  seedMessages,
  shownAs,
  startTestServer,
} from "../fixtures/mod.ts";

const ids = (body: { id: number }[]) => body.map((m) => m.id);

Deno.test("GET /api/rooms/{id}/messages/ streams a long history oldest first in the documented shape, one page of rows at a time", async () => {
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

Deno.test("GET /api/rooms/{id}/messages/ beyond HISTORY_MAX returns the newest ones and links to the older ones", async () => {
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

Deno.test("a whole history is a snapshot: messages sent while its pages are read are left out", async () => {
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
