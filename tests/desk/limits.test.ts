// The desk socket under a flood: events past a socket's rate, and messages past a user's send
// rate over all their sockets, are refused with code `throttled` and `retry_after` (seconds);
// the socket stays connected and nothing refused is stored.
import assert from "node:assert/strict";
import { counterValue } from "@/lib/metrics.ts";
import {
  api,
  ask,
  Clients,
  engagedRoom,
  startTestServer,
  student,
  teacher,
} from "../fixtures/mod.ts";

interface Ack {
  id?: number;
  error?: { code: string; retry_after?: number; event: string };
}

Deno.test("a desk socket that floods events past SOCKET_FRAME_BURST is refused with throttled and retry_after, and stays connected", async () => {
  await using srv = await startTestServer({ SOCKET_FRAME_RATE: "1", SOCKET_FRAME_BURST: "10" });
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  const room = await engagedRoom(srv, s, t);
  const socket = await clients.connect(s);

  const started = Date.now();
  const acks: Ack[] = await Promise.all(
    Array.from({ length: 40 }, (_, i) => ask(socket, "message", { room: room.id, text: `m${i}` })),
  );
  const stored = acks.filter((a) => a.id !== undefined);
  const refused = acks.filter((a) => a.error !== undefined);
  const allowed = 10 + Math.ceil((Date.now() - started) / 1000);
  assert.ok(stored.length >= 10 && stored.length <= allowed, `stored ${stored.length}`);
  assert.equal(stored.length + refused.length, 40);
  for (const { error } of refused) {
    assert.equal(error!.code, "throttled");
    assert.equal(error!.event, "message");
    assert.ok(error!.retry_after! >= 1);
  }
  assert.equal(socket.connected, true);
  const history = await api(srv, "GET", `/api/${room.id}/messages/`, { token: s.access });
  assert.equal(history.body.length, stored.length);
});

Deno.test("the send rate holds across all of a user's sockets: past SEND_BURST every send is refused until time gives tokens back", async () => {
  const clock = { now: Date.now() };
  await using srv = await startTestServer({ SEND_RATE: "1", SEND_BURST: "5" }, { clock });
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  const room = await engagedRoom(srv, s, t);
  const first = await clients.connect(s);
  const second = await clients.connect(s);

  const acks: Ack[] = await Promise.all(
    Array.from(
      { length: 12 },
      (_, i) => ask(i % 2 ? first : second, "message", { room: room.id, text: `m${i}` }),
    ),
  );
  assert.equal(acks.filter((a) => a.id !== undefined).length, 5);
  for (const { error } of acks.filter((a) => a.error)) {
    assert.equal(error!.code, "throttled");
    assert.ok(error!.retry_after! >= 1);
  }
  assert.equal(await counterValue(srv.metrics.throttled, { limit: "send" }), 7);
  // The teacher has a budget of their own.
  const teacherSocket = await clients.connect(t);
  assert.ok((await ask(teacherSocket, "message", { room: room.id, text: "hi" })).id);

  clock.now += 2000; // two tokens back
  const later: Ack[] = await Promise.all(
    [0, 1, 2].map((i) => ask(first, "message", { room: room.id, text: `later${i}` })),
  );
  assert.equal(later.filter((a) => a.id !== undefined).length, 2);
});
