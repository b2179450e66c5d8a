// The lounge paging rule (rooms, groups, bot chat): `before=true` → the 100 newest messages older
// than `timestamp`; otherwise the messages since it, 100 at a time. Messages sent at the same
// instant still get distinct times, so nothing is dropped or repeated at a page's edge.
import assert from "node:assert/strict";
import {
  engines,
  lounge,
  loungeOk,
  loungeSocket,
  person,
  startTestServer,
} from "../fixtures/mod.ts";

engines.test("130 messages sent in the same millisecond page back in two pages, and forward in two, with nothing missing or repeated", async () => {
  const clock = { now: Date.parse("2026-01-01T12:00:00.000Z") };
  await using srv = await startTestServer({}, { clock });
  const a = await person(srv);
  const b = await person(srv);
  await using socket = await loungeSocket(srv, a);
  const texts = Array.from({ length: 130 }, (_, i) => `m${i}`);
  for (const message of texts) {
    socket.chat({ chat_type: "room", other_user_id: b.user.id, message });
  }
  // 130 sends one after another over one socket; a busy machine (or a database across a
  // network) may need longer than one frame's usual wait.
  await socket.frame("room_chat_message", (f) => f.message === "m129", 30_000);
  const room = await srv.core.rooms.direct(a.user.id, b.user.id);
  const path = `/chat_rooms/${room.id}`;

  // Backwards: the newest 100, then the 30 before the oldest of them.
  const newest = await loungeOk(srv, "GET", path, b);
  assert.equal(newest.length, 100);
  const older = await loungeOk(
    srv,
    "GET",
    `${path}?timestamp=${encodeURIComponent(newest[0].timestamp)}&before=true`,
    b,
  );
  assert.deepEqual([...older, ...newest].map((m: { message: string }) => m.message), texts);
  const times = [...older, ...newest].map((m: { timestamp: string }) => Date.parse(m.timestamp));
  assert.ok(times.every((t, i) => i === 0 || t > times[i - 1]), "times strictly increase");

  // Forwards: since a moment before the first, 100 at a time, asking again from the last one.
  const start = new Date(times[0] - 1).toISOString();
  const first = await loungeOk(srv, "GET", `${path}?timestamp=${start}`, b);
  assert.equal(first.length, 100);
  const rest = await loungeOk(
    srv,
    "GET",
    `${path}?timestamp=${first.at(-1).timestamp}&before=false`,
    b,
  );
  assert.deepEqual([...first, ...rest].map((m: { message: string }) => m.message), texts);
  const none = await loungeOk(srv, "GET", `${path}?timestamp=${rest.at(-1).timestamp}`, b);
  assert.deepEqual(none, []);
});

engines.test("a timestamp that is not an ISO 8601 date is a 400 field error, on every paged list", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  const b = await person(srv);
  const room = await srv.core.rooms.direct(a.user.id, b.user.id);
  const group = await loungeOk(srv, "POST", "/chat_groups", a, { name: "G" }, 201);
  for (const path of [`/chat_rooms/${room.id}`, `/chat_groups/${group.chat_group_id}`]) {
    const reply = await lounge(srv, "GET", `${path}?timestamp=yesterday`, a);
    assert.equal(reply.status, 400, path);
    assert.deepEqual(Object.keys(reply.body), ["timestamp"]);
    const flag = await lounge(srv, "GET", `${path}?before=maybe`, a);
    assert.equal(flag.status, 400, path);
    assert.deepEqual(Object.keys(flag.body), ["before"]);
  }
});
