// The meet socket under load: a flood gets error frames with retry_after and the socket stays
// open; the send rate holds over all of a user's sockets; a client that stops reading is cut
// without holding up the room; and a meet connection counts in presence until it ends.
import assert from "node:assert/strict";
import { counterValue } from "@/lib/metrics.ts";
import {
  api,
  createRoom,
  join,
  nonReadingClient,
  person,
  startTestServer,
  waitFor,
} from "../fixtures/mod.ts";

// deno-lint-ignore no-explicit-any
type Frame = any;

Deno.test("ws: a flood past SOCKET_FRAME_BURST gets throttled error frames with retry_after; the socket stays open", async () => {
  await using srv = await startTestServer({ SOCKET_FRAME_RATE: "1", SOCKET_FRAME_BURST: "10" });
  const a = await person(srv);
  const room = await createRoom(srv, a);
  await using socket = await join(srv, a, room.id);
  const started = Date.now();
  for (let i = 0; i < 30; i++) socket.say(`m${i}`);
  const frames: Frame[] = [];
  while (frames.length < 30) frames.push(await socket.nextJson());
  const chats = frames.filter((f) => f.content !== undefined);
  const errors = frames.filter((f) => f.type === "error");
  const allowed = 10 + Math.ceil((Date.now() - started) / 1000);
  assert.ok(chats.length >= 10 && chats.length <= allowed, `chats ${chats.length}`);
  assert.equal(chats.length + errors.length, 30);
  for (const error of errors) {
    assert.equal(error.code, "throttled");
    assert.ok(error.retry_after >= 1);
  }
  assert.equal(socket.ws.readyState, WebSocket.OPEN);
  const stored = await api(srv, "GET", `/api/rooms/${room.id}/messages/`, { token: a.access });
  assert.equal(stored.body.length, chats.length);
});

Deno.test("ws: the send rate holds across a user's sockets; refused sends get an error frame", async () => {
  const clock = { now: Date.now() };
  await using srv = await startTestServer({ SEND_RATE: "1", SEND_BURST: "3" }, { clock });
  const a = await person(srv);
  const room = await createRoom(srv, a);
  await using one = await join(srv, a, room.id);
  await using two = await join(srv, a, room.id);
  for (let i = 0; i < 3; i++) {
    one.say(`one${i}`);
    two.say(`two${i}`);
  }
  // Each socket hears the 3 stored messages, and an error frame for each of its own refusals.
  const frames = (socket: typeof one) => socket.received.map((f) => JSON.parse(String(f)));
  const chats = (socket: typeof one) => frames(socket).filter((f) => f.content).length;
  const errors = () => [...frames(one), ...frames(two)].filter((f) => f.type === "error");
  await waitFor(() => chats(one) === 3 && chats(two) === 3 && errors().length === 3);
  for (const error of errors()) {
    assert.equal(error.code, "throttled");
    assert.ok(error.retry_after >= 1);
  }
  const stored = await api(srv, "GET", `/api/rooms/${room.id}/messages/`, { token: a.access });
  assert.equal(stored.body.length, 3);
});

Deno.test("ws: a client that stops reading is cut, counted, and the room's other clients get every signal", async () => {
  await using srv = await startTestServer({ WS_MAX_BUFFERED_BYTES: String(1024 * 1024) });
  const a = await person(srv);
  const b = await person(srv);
  const c = await person(srv);
  const room = await createRoom(srv, a);
  await using sender = await join(srv, a, room.id);
  await using reader = await join(srv, c, room.id);
  const stuck = await nonReadingClient(
    new URL(srv.url).host,
    `/ws/chat/${room.id}/?token=${b.access}`,
  );
  await waitFor(() => srv.core.presence.isOnline(b.user.id), { what: "the stuck client open" });
  const cut = () => counterValue(srv.metrics.slowConsumers, { face: "meet" });
  const sdp = "x".repeat(30 * 1024);
  // Bursts of ~3 MB: the reader drains each one; the stuck client piles them up until cut.
  let n = 0;
  for (let burst = 0; burst < 20 && await cut() === 0; burst++) {
    const first = n;
    for (let i = 0; i < 100; i++) {
      sender.send({ type: "webrtc-offer", offer: { type: "offer", sdp }, n: n++ });
    }
    for (let i = first; i < n; i++) assert.equal((await reader.nextJson()).n, i);
  }
  assert.equal(await cut(), 1);
  assert.equal(reader.ws.readyState, WebSocket.OPEN);
  await waitFor(() => !srv.core.presence.isOnline(b.user.id), { what: "the stuck client cut" });
  stuck.close();
});

Deno.test("ws: a meet connection counts in presence, released on close, logout and room deletion", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  const room = await createRoom(srv, a);
  const online = () => srv.core.presence.isOnline(a.user.id);

  const closed = await join(srv, a, room.id);
  await waitFor(online, { what: "online" });
  await closed.close();
  await waitFor(() => !online(), { what: "offline after close" });

  const loggedOut = await join(srv, a, room.id);
  await waitFor(online, { what: "online" });
  await api(srv, "POST", "/auth/logout/", { token: a.access });
  await loggedOut.closedBy();
  await waitFor(() => !online(), { what: "offline after logout" });

  const b = await person(srv);
  const other = await createRoom(srv, b);
  const deleted = await join(srv, b, other.id);
  await waitFor(() => srv.core.presence.isOnline(b.user.id), { what: "online" });
  await api(srv, "DELETE", `/api/rooms/${other.id}/`, { token: b.access });
  assert.equal((await deleted.closedBy()).code, 4404);
  await waitFor(() => !srv.core.presence.isOnline(b.user.id), { what: "offline after deletion" });
});
