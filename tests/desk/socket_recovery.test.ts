// Connection state recovery on the desk socket: only for clients that ask (`auth.recover`), it
// replays what a dropped client missed, but never resurrects what authentication would refuse
// now (logout, refresh-token reuse, deactivation, deletion, an expired token), nor hands one
// login's state to another.
import assert from "node:assert/strict";
import {
  api,
  ask,
  Clients,
  type ClientSocket,
  type Clock,
  connected,
  connectError,
  engagedRoom,
  engines,
  events,
  newSession,
  once,
  type Person,
  record,
  recoveryStats,
  SioConn,
  startTestServer,
  student,
  teacher,
  type TestServer,
  waitFor,
} from "../fixtures/mod.ts";

const stats = recoveryStats;

const recoveringAuth = (who: Person, access = who.access) => ({
  access_token: access,
  id: who.user.id,
  recover: true,
});

/** A raw Engine.IO WebSocket to the service, opened (not yet in a namespace). */
async function rawSocket(srv: TestServer): Promise<SioConn> {
  const conn = new SioConn(`${srv.url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket`);
  await conn.message((m) => m.startsWith("0{"));
  return conn;
}

const connectReplies = (conn: SioConn) =>
  conn.received.filter((f): f is string => typeof f === "string" && /^4[04]/.test(f));

/** Sends a CONNECT for "/" and waits for its answer (the `n`th on this connection). */
async function connectOnce(conn: SioConn, auth: unknown): Promise<string> {
  const n = connectReplies(conn).length + 1;
  conn.send(`40${JSON.stringify(auth)}`);
  await waitFor(() => connectReplies(conn).length >= n, { what: "the CONNECT answer" });
  return connectReplies(conn)[n - 1];
}

interface Dropped {
  s: Person;
  t: Person;
  roomId: number;
  teacherSocket: ClientSocket;
  /** The student's client, dropped; connect() tries to recover (it sends its pid and offset). */
  client: ClientSocket;
  id: string;
  pid: string;
  offset: string;
}

/**
 * A student in an engaged room whose recovering client got one message and then lost its
 * connection: the server keeps its state.
 */
async function droppedStudent(srv: TestServer, clients: Clients): Promise<Dropped> {
  const s = await student(srv);
  const t = await teacher(srv);
  const room = await engagedRoom(srv, s, t);
  const teacherSocket = await clients.connect(t);
  const client = clients.open(recoveringAuth(s));
  await connected(client);
  const id = client.id!;
  const pid = srv.io.of("/").sockets.get(id)!.pid!;
  assert.equal(typeof pid, "string");
  const first = once<[unknown, string]>(client, "message");
  await ask(teacherSocket, "message", { room: room.id, text: "before the drop" });
  const [, offset] = await first;
  assert.equal(typeof offset, "string", "a recovering client gets offsets");
  client.io.engine.close();
  await waitFor(() => !srv.io.of("/").sockets.has(id) && stats(srv).sessions === 1, {
    what: "the drop, its state kept",
  });
  return { s, t, roomId: room.id, teacherSocket, client, id, pid, offset };
}

/**
 * Every way back is refused: the client itself with its old token, and raw CONNECTs with the
 * pid and no token or the old one. A room message sent then reaches none of them.
 */
async function assertNoWayBack(srv: TestServer, d: Dropped): Promise<void> {
  const refused = connectError(d.client);
  d.client.connect();
  await refused;
  const seen = record(d.client);
  await using bare = await rawSocket(srv);
  await using withOldToken = await rawSocket(srv);
  const recovery = { pid: d.pid, offset: d.offset, recover: true };
  assert.match(await connectOnce(bare, recovery), /^44/);
  assert.match(
    await connectOnce(withOldToken, { ...recovery, ...recoveringAuth(d.s) }),
    /^44/,
  );
  assert.deepEqual([...srv.io.of("/").sockets.values()].map((s) => s.id), [d.teacherSocket.id]);

  await ask(d.teacherSocket, "message", { room: d.roomId, text: "after the drop" });
  // Another CONNECT on each raw connection: its answer comes after anything sent before it.
  assert.match(await connectOnce(bare, recovery), /^44/);
  assert.match(await connectOnce(withOldToken, { ...recovery, ...recoveringAuth(d.s) }), /^44/);
  for (const conn of [bare, withOldToken]) {
    assert.deepEqual(conn.received.filter((f) => String(f).startsWith("42")), []);
  }
  assert.deepEqual(seen, []);
}

const revocations: [string, (srv: TestServer, s: Person) => Promise<void>][] = [
  ["its login session ends (logout)", async (srv, s) => {
    const { sessionId } = await srv.core.tokens.authenticate(s.access);
    await srv.core.tokens.endSession(s.user.id, sessionId);
    assert.equal((await api(srv, "GET", "/api/room/", { token: s.access })).status, 401);
  }],
  ["its refresh token is presented twice (session revoked)", async (srv, s) => {
    await srv.core.tokens.refresh(s.refresh);
    await assert.rejects(srv.core.tokens.refresh(s.refresh));
  }],
  ["the account is deactivated", async (srv, s) => {
    await srv.core.accounts.deactivate(s.user.id);
  }],
  ["the account is deleted (deactivated and anonymised)", async (srv, s) => {
    await srv.core.accounts.deactivate(s.user.id, { anonymise: true });
  }],
];

for (const [what, revoke] of revocations) {
  engines.test(`a dropped desk client is not recovered after ${what}: refused, its kept state forgotten, no room messages`, async () => {
    // Reuse only revokes with rotation on and no leeway.
    await using srv = await startTestServer({
      REFRESH_ROTATION: "true",
      REFRESH_REUSE_LEEWAY: "0",
    });
    using clients = new Clients(srv);
    const d = await droppedStudent(srv, clients);
    await revoke(srv, d.s);
    assert.equal(stats(srv).sessions, 0, "the kept state is forgotten at once");
    await assertNoWayBack(srv, d);
  });
}

engines.test("a dropped desk client whose access token expired is refused; with a refreshed token of the same login it recovers what it missed", async () => {
  const clock: Clock = { now: Date.now() };
  await using srv = await startTestServer({ ACCESS_TOKEN_TTL: "15m" }, { clock });
  using clients = new Clients(srv);
  const d = await droppedStudent(srv, clients);
  clock.now += 16 * 60 * 1000;
  await assertNoWayBack(srv, d);
  assert.equal(stats(srv).sessions, 1, "a refusal leaves the state for its owner");

  const { access } = await srv.core.tokens.refresh(d.s.refresh);
  d.client.auth = recoveringAuth(d.s, access);
  const seen = record(d.client);
  d.client.connect();
  await connected(d.client);
  assert.equal(d.client.recovered, true);
  assert.equal(d.client.id, d.id);
  await waitFor(() => events(seen, "message").length >= 1, { what: "the missed message" });
  assert.deepEqual(events(seen, "message").map((m) => m.text), ["after the drop"]);
});

engines.test("a dropped desk client that asked for recovery gets back its socket id and the room messages it missed", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const d = await droppedStudent(srv, clients);
  const sent = await ask(d.teacherSocket, "message", { room: d.roomId, text: "while away" });
  const seen = record(d.client);
  d.client.connect();
  await connected(d.client);
  assert.equal(d.client.recovered, true);
  assert.equal(d.client.id, d.id);
  await waitFor(() => events(seen, "message").length >= 1, { what: "the missed message" });
  const [, payload, offset] = seen.find(([event]) => event === "message")!;
  assert.deepEqual(payload, sent);
  assert.equal(typeof offset, "string");
  // And it is back in its room: a new message arrives live.
  const live = once(d.client, "message");
  await ask(d.teacherSocket, "message", { room: d.roomId, text: "welcome back" });
  assert.equal(((await live)[0] as { text: string }).text, "welcome back");
});

engines.test("a pid presented with another login's token starts a fresh connection: none of the old state, no room messages; the owner still recovers", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const d = await droppedStudent(srv, clients);
  const stranger = await student(srv);
  const otherDevice = await newSession(srv, d.s);
  for (const intruder of [stranger, otherDevice]) {
    await using conn = await rawSocket(srv);
    const reply = await connectOnce(conn, {
      ...recoveringAuth(intruder),
      pid: d.pid,
      offset: d.offset,
    });
    assert.match(reply, /^40\{/);
    const { sid, pid } = JSON.parse(reply.slice(2));
    assert.notEqual(sid, d.id);
    assert.notEqual(pid, d.pid);
    assert.equal(srv.io.of("/").sockets.get(sid)!.recovered, false);
    await ask(d.teacherSocket, "message", { room: d.roomId, text: "not for intruders" });
    // `rooms` answers on the same connection after anything sent to it before.
    conn.send('421["rooms"]');
    const answer = await conn.message((m) => m.startsWith("431"));
    const rooms = JSON.parse(answer.slice(3))[0].rooms;
    assert.deepEqual(rooms, intruder === stranger ? [] : [d.roomId]);
    if (intruder === stranger) {
      const frames = conn.received.map(String);
      assert.ok(!frames.some((f) => f.includes("not for intruders")), frames.join("\n"));
    }
  }
  const seen = record(d.client);
  d.client.connect();
  await connected(d.client);
  assert.equal(d.client.recovered, true);
  assert.equal(d.client.id, d.id);
  await waitFor(() => events(seen, "message").length >= 2, { what: "the missed messages" });
  assert.deepEqual(events(seen, "message").map((m) => m.text), [
    "not for intruders",
    "not for intruders",
  ]);
});

engines.test("a desk client that does not ask for recovery gets no pid and exactly one payload per event", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  const room = await engagedRoom(srv, s, t);
  const teacherSocket = await clients.connect(t);
  const studentSocket = await clients.connect(s);
  assert.equal(srv.io.of("/").sockets.get(studentSocket.id!)!.pid, undefined);
  const seen = record(studentSocket);
  const sent = await ask(teacherSocket, "message", { room: room.id, text: "hello" });
  await waitFor(() => seen.some(([e]) => e === "message"), { what: "the message" });
  assert.deepEqual(seen.find(([e]) => e === "message"), ["message", sent]);
  assert.deepEqual(stats(srv), { entries: 0, bytes: 0, sessions: 0 }, "nothing kept for it");
});
