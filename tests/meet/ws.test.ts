// The meet face's WebSocket, /ws/chat/{room_id}/ (specs/meet.md, issue 5): authentication and
// the room check before the upgrade, chat in commit order to everyone in the room, WebRTC
// signals relayed to the others with a server-set sender_id (or to one `target`), bad frames
// dropped without closing, and the close codes for oversize frames, deleted rooms and logout.
//
// Absence is checked without timing: after the frame that must not arrive, a chat message is
// sent, and the next frame a socket receives must be that message.
import assert from "node:assert/strict";
import {
  api,
  assertIsoDate,
  assertRefused,
  createRoom,
  engines,
  expectChat,
  join,
  MeetSocket,
  newSession,
  person,
  shownAs,
  startTestServer,
  upgradeAttempt,
  wsUrl,
} from "../fixtures/mod.ts";

const NOT_PROVIDED = { detail: "Authentication credentials were not provided." };

const OFFER = { type: "offer", sdp: "v=0\r\no=- 123456789 2 IN IP4 127.0.0.1\r\n" };
const ANSWER = { type: "answer", sdp: "v=0\r\no=- 987654321 2 IN IP4 127.0.0.1\r\n" };
const CANDIDATE = {
  candidate: "candidate:1 1 UDP 2130706431 192.168.1.1 54321 typ host",
  sdpMLineIndex: 0,
  sdpMid: "0",
};

/** One signal of each type, as a client sends it. */
const SIGNALS: Record<string, unknown>[] = [
  { type: "webrtc-offer", offer: OFFER },
  { type: "webrtc-answer", answer: ANSWER },
  { type: "webrtc-ice-candidate", candidate: CANDIDATE },
  { type: "webrtc-hangup" },
];

// --- Authentication and the room check before the upgrade -------------------------------------

engines.test("ws: a token in the Authorization: Bearer header opens the connection", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const room = await createRoom(srv, who);
  await using socket = new MeetSocket(wsUrl(srv, room.id), { bearer: who.access });
  await socket.waitOpen();
  socket.say("via header");
  const message = await expectChat(socket, "via header");
  assert.deepEqual(message.user, shownAs(who));
});

engines.test("ws: a token in ?token= opens the connection", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const room = await createRoom(srv, who);
  await using socket = new MeetSocket(wsUrl(srv, room.id, `?token=${who.access}`));
  await socket.waitOpen();
  socket.say("via query");
  assert.deepEqual((await expectChat(socket, "via query")).user, shownAs(who));
});

engines.test("ws: a token offered as Sec-WebSocket-Protocol ['access_token', token] opens and 'access_token' is echoed", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const room = await createRoom(srv, who);
  await using socket = new MeetSocket(wsUrl(srv, room.id), {
    protocols: ["access_token", who.access],
  });
  await socket.waitOpen();
  assert.equal(socket.ws.protocol, "access_token");
  socket.say("via protocol");
  assert.deepEqual((await expectChat(socket, "via protocol")).user, shownAs(who));
});

engines.test("ws: a token offered alone as Sec-WebSocket-Protocol opens and the token is echoed", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const room = await createRoom(srv, who);
  await using socket = new MeetSocket(wsUrl(srv, room.id), { protocols: [who.access] });
  await socket.waitOpen();
  assert.equal(socket.ws.protocol, who.access);
  socket.say("bare protocol");
  assert.deepEqual((await expectChat(socket, "bare protocol")).user, shownAs(who));
});

engines.test("ws: without a token the upgrade is refused with HTTP 401 and the socket never opens", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const room = await createRoom(srv, who);
  const reply = await upgradeAttempt(srv, room.id);
  assert.equal(reply.status, 401);
  assert.match(reply.headers.get("content-type") ?? "", /json/);
  assert.deepEqual(reply.body, NOT_PROVIDED);
  await assertRefused(wsUrl(srv, room.id));
  await assertRefused(wsUrl(srv, room.id), { protocols: ["access_token"] });
});

engines.test("ws: a garbage, refresh or logged-out token is refused with HTTP 401 before the upgrade", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const room = await createRoom(srv, who);
  const gone = await newSession(srv, who);
  assert.equal((await api(srv, "POST", "/auth/logout/", { token: gone.access })).status, 200);
  for (const token of ["garbage.token.here", who.refresh, gone.access]) {
    const viaHeader = await upgradeAttempt(srv, room.id, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(viaHeader.status, 401);
    assert.equal(typeof viaHeader.body.detail, "string");
    const viaQuery = await upgradeAttempt(srv, room.id, { query: `?token=${token}` });
    assert.equal(viaQuery.status, 401);
    await assertRefused(wsUrl(srv, room.id, `?token=${token}`));
    await assertRefused(wsUrl(srv, room.id), { bearer: token });
    await assertRefused(wsUrl(srv, room.id), { protocols: ["access_token", token] });
  }
});

engines.test("ws: an expired token is refused with HTTP 401 before the upgrade", async () => {
  const clock = { now: Date.now() };
  await using srv = await startTestServer({ ACCESS_TOKEN_TTL: "1" }, { clock });
  const who = await person(srv);
  const room = await createRoom(srv, who);
  clock.now += 2100;
  const reply = await upgradeAttempt(srv, room.id, { query: `?token=${who.access}` });
  assert.equal(reply.status, 401);
  await assertRefused(wsUrl(srv, room.id, `?token=${who.access}`));
});

engines.test("ws: an unknown room is refused with HTTP 404 before the upgrade", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const reply = await upgradeAttempt(srv, 999999, { query: `?token=${who.access}` });
  assert.equal(reply.status, 404);
  assert.deepEqual(reply.body, { detail: "Not found." });
  await assertRefused(wsUrl(srv, 999999, `?token=${who.access}`));
});

engines.test("ws: a room of another face (a desk question) is refused with HTTP 404", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const desk = await srv.core.desk.open(who.user.id, "How do fractions work?");
  const reply = await upgradeAttempt(srv, desk.id, { query: `?token=${who.access}` });
  assert.equal(reply.status, 404);
  await assertRefused(wsUrl(srv, desk.id, `?token=${who.access}`));
});

engines.test("ws: a deleted (inactive) room is refused with HTTP 404 before the upgrade", async () => {
  await using srv = await startTestServer();
  const who = await person(srv);
  const room = await createRoom(srv, who);
  const del = await api(srv, "DELETE", `/api/rooms/${room.id}/`, { token: who.access });
  assert.equal(del.status, 204);
  const reply = await upgradeAttempt(srv, room.id, { query: `?token=${who.access}` });
  assert.equal(reply.status, 404);
  assert.deepEqual(reply.body, { detail: "Not found." });
  await assertRefused(wsUrl(srv, room.id, `?token=${who.access}`));
});

// --- Chat -------------------------------------------------------------------------------------

engines.test("ws: a chat message reaches the sender and the other user in the documented shape", async () => {
  await using srv = await startTestServer();
  const a = await person(srv, { name: "Alice Anders" });
  const b = await person(srv, { name: "Bob Berg" });
  const room = await createRoom(srv, a);
  await using sa = await join(srv, a, room.id);
  await using sb = await join(srv, b, room.id);

  sa.say("hi");
  const toA = await sa.nextJson();
  const toB = await sb.nextJson();
  assert.deepEqual(toA, toB);
  assert.deepEqual(Object.keys(toA).sort(), ["content", "created_at", "id", "user"]);
  assert.equal(typeof toA.id, "number");
  assert.deepEqual(toA.user, { id: a.user.id, email: a.email, name: "Alice Anders" });
  assert.equal(toA.content, "hi");
  assertIsoDate(toA.created_at);

  // Persisted: REST shows the same message.
  const rest = await api(srv, "GET", `/api/rooms/${room.id}/messages/`, { token: b.access });
  assert.deepEqual(rest.body, [toA]);
});

engines.test("ws: both users see all messages sent quickly from both sides in the same order", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  const b = await person(srv);
  const room = await createRoom(srv, a);
  await using sa = await join(srv, a, room.id);
  await using sb = await join(srv, b, room.id);

  const N = 8;
  for (let i = 0; i < N; i++) {
    sa.say(`a${i}`);
    sb.say(`b${i}`);
  }
  const seenA = [];
  const seenB = [];
  for (let i = 0; i < 2 * N; i++) seenA.push(await sa.nextJson());
  for (let i = 0; i < 2 * N; i++) seenB.push(await sb.nextJson());

  assert.deepEqual(seenA, seenB);
  const ids = seenA.map((m) => m.id);
  assert.deepEqual(ids, [...ids].sort((x, y) => x - y), "in commit (id) order");
  // Each sender's own messages keep the order they were sent in.
  const fromA = seenA.filter((m) => m.user.id === a.user.id).map((m) => m.content);
  const fromB = seenA.filter((m) => m.user.id === b.user.id).map((m) => m.content);
  assert.deepEqual(fromA, Array.from({ length: N }, (_, i) => `a${i}`));
  assert.deepEqual(fromB, Array.from({ length: N }, (_, i) => `b${i}`));

  const rest = await api(srv, "GET", `/api/rooms/${room.id}/messages/`, { token: a.access });
  assert.deepEqual(rest.body, seenA, "REST shows them in the same order");
});

engines.test("ws: a chat message reaches only the sockets of its own room", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  const b = await person(srv);
  const room = await createRoom(srv, a, { name: "One" });
  const other = await createRoom(srv, a, { name: "Two" });
  await using sa = await join(srv, a, room.id);
  await using sb = await join(srv, b, other.id);
  sa.say("for room one");
  await expectChat(sa, "for room one");
  sb.say("for room two");
  await expectChat(sb, "for room two");
  sa.say("again one");
  await expectChat(sa, "again one");
});

// --- Signals ----------------------------------------------------------------------------------

engines.test("ws: every WebRTC signal reaches the other user with sender_id and never echoes back", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  const b = await person(srv);
  const room = await createRoom(srv, a, { room_type: "video" });
  await using sa = await join(srv, a, room.id);
  await using sb = await join(srv, b, room.id);

  for (const signal of SIGNALS) {
    sa.send(signal);
    const got = await sb.nextJson();
    assert.deepEqual(got, { ...signal, sender_id: a.user.id }, String(signal.type));
  }
  // Nothing came back to A: its next frame is its own chat message.
  sa.say("after the signals");
  await expectChat(sa, "after the signals");
  await expectChat(sb, "after the signals");

  // And the other way round.
  sb.send({ type: "webrtc-answer", answer: ANSWER });
  assert.deepEqual(await sa.nextJson(), {
    type: "webrtc-answer",
    answer: ANSWER,
    sender_id: b.user.id,
  });
  sb.say("b done");
  await expectChat(sb, "b done");
  await expectChat(sa, "b done");
});

engines.test("ws: a client-supplied sender_id is overwritten with the sender's id", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  const b = await person(srv);
  const room = await createRoom(srv, a);
  await using sa = await join(srv, a, room.id);
  await using sb = await join(srv, b, room.id);
  for (const forged of [b.user.id, 424242, "someone", null]) {
    sa.send({ type: "webrtc-offer", offer: OFFER, sender_id: forged });
    const got = await sb.nextJson();
    assert.equal(got.sender_id, a.user.id, `forged ${forged}`);
    assert.deepEqual(got.offer, OFFER);
  }
});

engines.test("ws: a signal with a target reaches only that user's connections", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  const b = await person(srv);
  const c = await person(srv);
  const room = await createRoom(srv, a, { room_type: "video" });
  await using sa = await join(srv, a, room.id);
  await using sb1 = await join(srv, b, room.id);
  await using sb2 = await join(srv, await newSession(srv, b), room.id);
  await using sc = await join(srv, c, room.id);

  sa.send({ type: "webrtc-offer", offer: OFFER, target: b.user.id });
  for (const socket of [sb1, sb2]) {
    assert.deepEqual(await socket.nextJson(), {
      type: "webrtc-offer",
      offer: OFFER,
      target: b.user.id,
      sender_id: a.user.id,
    });
  }
  sc.send({ type: "webrtc-ice-candidate", candidate: CANDIDATE, target: a.user.id });
  assert.deepEqual(await sa.nextJson(), {
    type: "webrtc-ice-candidate",
    candidate: CANDIDATE,
    target: a.user.id,
    sender_id: c.user.id,
  });

  // C never saw A's offer and B never saw C's candidate: the next frame everyone gets is this.
  sa.say("sentinel");
  for (const socket of [sa, sb1, sb2, sc]) await expectChat(socket, "sentinel");

  // Without a target the signal goes to every other connection, B's two included.
  sb1.send({ type: "webrtc-hangup" });
  for (const socket of [sa, sb2, sc]) {
    assert.deepEqual(await socket.nextJson(), { type: "webrtc-hangup", sender_id: b.user.id });
  }
  sb1.say("sentinel 2");
  for (const socket of [sa, sb1, sb2, sc]) await expectChat(socket, "sentinel 2");
});

engines.test("ws: a signal targeted at someone not in the room reaches nobody", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  const b = await person(srv);
  const outsider = await person(srv);
  const room = await createRoom(srv, a);
  await using sa = await join(srv, a, room.id);
  await using sb = await join(srv, b, room.id);
  sa.send({ type: "webrtc-offer", offer: OFFER, target: outsider.user.id });
  sa.say("sentinel");
  await expectChat(sa, "sentinel");
  await expectChat(sb, "sentinel");
});

engines.test("ws: a signal is relayed with whatever fields it carries (the original front-end's top-level sdp, no payload at all), sender_id set by the server", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  const b = await person(srv);
  const room = await createRoom(srv, a, { room_type: "video" });
  await using sa = await join(srv, a, room.id);
  await using sb = await join(srv, b, room.id);

  // Each of these was once dropped as "a signal without its payload"; the original Rooms
  // front-end sends the first three, with its own idea of sender_id (its id, or null).
  const frames: Record<string, unknown>[] = [
    { type: "webrtc-offer", sdp: OFFER.sdp, sender_id: a.user.id },
    { type: "webrtc-answer", sdp: ANSWER.sdp, sender_id: null },
    { type: "webrtc-ice-candidate", candidate: { ...CANDIDATE, usernameFragment: "u1" } },
    { type: "webrtc-hangup", sender_id: b.user.id },
    { type: "webrtc-offer" },
    { type: "webrtc-answer" },
    { type: "webrtc-ice-candidate" },
    { type: "webrtc-offer", offer: "sdp" },
    { type: "webrtc-answer", answer: ANSWER, extra: { nested: [1, "two", null] } },
  ];
  for (const frame of frames) {
    sa.send(frame);
    const { sender_id: _, ...sent } = frame;
    assert.deepEqual(await sb.nextJson(), { ...sent, sender_id: a.user.id }, JSON.stringify(frame));
  }
  // None came back to its sender, and none was stored.
  sa.say("after the signals");
  await expectChat(sa, "after the signals");
  await expectChat(sb, "after the signals");
  const rest = await api(srv, "GET", `/api/rooms/${room.id}/messages/`, { token: a.access });
  assert.deepEqual(rest.body.map((m: { content: string }) => m.content), ["after the signals"]);
});

// --- Bad frames -------------------------------------------------------------------------------

engines.test("ws: bad frames are dropped and the socket stays open for the next valid message", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  const b = await person(srv);
  const room = await createRoom(srv, a);
  await using sa = await join(srv, a, room.id);
  await using sb = await join(srv, b, room.id);

  const bad: [string, string][] = [
    ["not JSON", "this is not json"],
    ["truncated JSON", '{"content": "half'],
    ["a JSON array", JSON.stringify(["content", "hi"])],
    ["a JSON string", JSON.stringify("hi")],
    ["a JSON number", "42"],
    ["JSON null", "null"],
    ["an unknown type", JSON.stringify({ type: "webrtc-dance", content: "x" })],
    ["chat without content", JSON.stringify({})],
    ["chat with a non-string content", JSON.stringify({ content: 42 })],
    ["chat with empty content", JSON.stringify({ content: "" })],
    ["a signal type of the wrong type", JSON.stringify({ type: 7, offer: OFFER })],
    ["a negative target", JSON.stringify({ type: "webrtc-offer", offer: OFFER, target: -1 })],
    // String() of such an object throws: its wording once crashed the whole process.
    [
      "a type carrying toString and valueOf keys",
      JSON.stringify({ type: { toString: 1, valueOf: 2 }, content: "x" }),
    ],
    ["a client_id of the wrong type", JSON.stringify({ content: "x", client_id: 7 })],
    ["an empty client_id", JSON.stringify({ content: "x", client_id: "" })],
    ["a client_id too long", JSON.stringify({ content: "x", client_id: "c".repeat(65) })],
    ["a bad target", JSON.stringify({ type: "webrtc-hangup", target: "everyone" })],
    ["content too long", JSON.stringify({ content: "x".repeat(4001) })],
  ];
  for (const [what, frame] of bad) {
    sa.send(frame);
    sa.say(`after ${what}`);
    // Neither side got anything for the bad frame; A's socket is still open and working.
    await expectChat(sa, `after ${what}`);
    await expectChat(sb, `after ${what}`);
  }
  assert.equal(sa.ws.readyState, WebSocket.OPEN);

  // None of the bad frames was stored.
  const rest = await api(srv, "GET", `/api/rooms/${room.id}/messages/`, { token: a.access });
  assert.deepEqual(
    rest.body.map((m: { content: string }) => m.content),
    bad.map(([what]) => `after ${what}`),
  );
});

engines.test("ws: a binary frame is dropped and the socket stays open", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  const room = await createRoom(srv, a);
  await using sa = await join(srv, a, room.id);
  sa.send(new TextEncoder().encode(JSON.stringify({ content: "binary" })));
  sa.say("text");
  await expectChat(sa, "text");
});

engines.test("ws: a chat message of exactly MESSAGE_MAX_LENGTH characters is accepted", async () => {
  await using srv = await startTestServer({ MESSAGE_MAX_LENGTH: "50" });
  const a = await person(srv);
  const room = await createRoom(srv, a);
  await using sa = await join(srv, a, room.id);
  sa.say("y".repeat(51));
  sa.say("z".repeat(50));
  await expectChat(sa, "z".repeat(50));
});

engines.test("ws: a frame over WS_MAX_MESSAGE_BYTES closes the socket with 1009", async () => {
  await using srv = await startTestServer({ WS_MAX_MESSAGE_BYTES: "1024" });
  const a = await person(srv);
  const b = await person(srv);
  const room = await createRoom(srv, a);
  await using sa = await join(srv, a, room.id);
  await using sb = await join(srv, b, room.id);

  sa.say("x".repeat(900)); // under the limit: fine
  await expectChat(sa, "x".repeat(900));
  await expectChat(sb, "x".repeat(900));

  sa.send(JSON.stringify({ content: "y".repeat(2000) }));
  const closed = await sa.closedBy();
  assert.equal(closed.code, 1009);

  // The oversize message was not stored and B's socket is unaffected.
  sb.say("b still here");
  await expectChat(sb, "b still here");
  const rest = await api(srv, "GET", `/api/rooms/${room.id}/messages/`, { token: b.access });
  assert.deepEqual(rest.body.map((m: { content: string }) => m.content), [
    "x".repeat(900),
    "b still here",
  ]);
});

// --- Closing ----------------------------------------------------------------------------------

engines.test("ws: deleting the room closes every socket in it with 4404", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  const b = await person(srv);
  const room = await createRoom(srv, a);
  const other = await createRoom(srv, b, { name: "Elsewhere" });
  await using sa = await join(srv, a, room.id);
  await using sb = await join(srv, b, room.id);
  await using elsewhere = await join(srv, b, other.id);

  const del = await api(srv, "DELETE", `/api/rooms/${room.id}/`, { token: a.access });
  assert.equal(del.status, 204);
  for (const socket of [sa, sb]) {
    const closed = await socket.closedBy();
    assert.equal(closed.code, 4404);
    assert.ok(closed.reason.length > 0, "a close reason");
  }

  // A socket in another room stays open.
  elsewhere.say("unaffected");
  await expectChat(elsewhere, "unaffected");
});

engines.test("ws: renaming the room keeps its sockets open", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  const room = await createRoom(srv, a);
  await using sa = await join(srv, a, room.id);
  const patch = await api(srv, "PATCH", `/api/rooms/${room.id}/`, {
    token: a.access,
    body: { name: "Renamed" },
  });
  assert.equal(patch.status, 200);
  sa.say("still open");
  await expectChat(sa, "still open");
});

engines.test("ws: logging out closes that session's socket with 4401, another session's stays open", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  const second = await newSession(srv, a);
  const room = await createRoom(srv, a);
  await using s1 = await join(srv, a, room.id);
  await using s2 = await join(srv, second, room.id);

  const out = await api(srv, "POST", "/auth/logout/", { token: a.access });
  assert.equal(out.status, 200);
  const closed = await s1.closedBy();
  assert.equal(closed.code, 4401);
  assert.ok(closed.reason.length > 0, "a close reason");

  s2.say("other session");
  await expectChat(s2, "other session");
  assert.equal(s2.ws.readyState, WebSocket.OPEN);
});

engines.test("ws: after PATCH /auth/profile/ the user's chat messages carry the new name", async () => {
  await using srv = await startTestServer();
  const a = await person(srv, { name: "First Name" });
  const room = await createRoom(srv, a);
  await using sa = await join(srv, a, room.id);
  const patch = await api(srv, "PATCH", "/auth/profile/", {
    token: a.access,
    body: { name: "Second Name" },
  });
  assert.equal(patch.status, 200);
  sa.say("renamed");
  assert.equal((await expectChat(sa, "renamed")).user.name, "Second Name");
});
