// The desk face over Socket.IO, connecting (specs/desk.md): who may connect, the rooms a
// socket is put in, online/offline across tabs, and sockets closed by logout or deactivation.
import assert from "node:assert/strict";
import {
  api,
  ask,
  Clients,
  connected,
  connectError,
  disconnected,
  engagedRoom,
  engines,
  events,
  newSession,
  next,
  nextAbout,
  noEvent,
  openRoom,
  quietPause,
  record,
  startTestServer,
  student,
  synced,
  teacher,
  waitFor,
} from "../fixtures/mod.ts";

const sorted = (ids: number[]) => [...ids].sort((a, b) => a - b);

// --- refusals ---------------------------------------------------------------------------------

engines.test("connect without a token is refused: connect_error says credentials were not provided", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  for (const auth of [undefined, {}, { id: s.user.id }, { access_token: "", id: s.user.id }]) {
    const err = await connectError(clients.open(auth));
    assert.equal(
      err.message,
      "Authentication credentials were not provided.",
      JSON.stringify(auth),
    );
  }
});

engines.test("connect with a garbage token is refused with a connect_error about the token", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  for (const token of ["garbage", "a.b.c", s.access.slice(0, -4) + "AAAA"]) {
    const err = await connectError(clients.open({ access_token: token, id: s.user.id }));
    assert.match(err.message, /token/i, token);
  }
});

engines.test("connect with a token whose user is not `id` is refused with a connect_error", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const other = await student(srv);
  const err = await connectError(clients.open({ access_token: s.access, id: other.user.id }));
  assert.ok(err.message.length > 0);
  assert.notEqual(err.message, "Authentication credentials were not provided.");
});

engines.test("connect with a refresh token as the access token is refused with a connect_error", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const err = await connectError(clients.open({ access_token: s.refresh, id: s.user.id }));
  assert.match(err.message, /token/i);
});

engines.test("connect with the access token of a logged-out session is refused", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const { sessionId } = await srv.core.tokens.authenticate(s.access);
  await srv.core.tokens.endSession(s.user.id, sessionId);
  const err = await connectError(clients.as(s));
  assert.match(err.message, /token/i);
});

engines.test("connect with a valid token and its user's id is accepted, also with the id as a string", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const client = await clients.connect(s);
  assert.ok(client.connected);
  const again = clients.open({ access_token: s.access, id: String(s.user.id) });
  await connected(again);
  assert.ok(again.connected);
});

// --- rooms on connect -------------------------------------------------------------------------

engines.test("on connect a student's socket is in their open rooms: `rooms` answers by event and by ack", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  const waiting = await openRoom(srv, s);
  const engaged = await engagedRoom(srv, s, t);
  const closed = await engagedRoom(srv, s, t);
  await srv.core.desk.close(closed.id, t.user.id);
  const otherStudent = await student(srv);
  await openRoom(srv, otherStudent);

  const client = await clients.connect(s);
  const event = next(client, "rooms");
  client.emit("rooms");
  const payload = await event;
  assert.deepEqual(Object.keys(payload), ["rooms"]);
  assert.deepEqual(sorted(payload.rooms), sorted([waiting.id, engaged.id]));

  const viaEvent = next(client, "rooms");
  const ack = await ask(client, "rooms");
  assert.deepEqual(sorted(ack.rooms), sorted([waiting.id, engaged.id]));
  assert.deepEqual(sorted((await viaEvent).rooms), sorted([waiting.id, engaged.id]));
});

engines.test("on connect a teacher's socket is in the open rooms they hold, not in waiting or closed ones", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  await openRoom(srv, s);
  const held = await engagedRoom(srv, s, t);
  const closed = await engagedRoom(srv, s, t);
  await srv.core.desk.close(closed.id, t.user.id);
  const client = await clients.connect(t);
  assert.deepEqual((await ask(client, "rooms")).rooms, [held.id]);
});

engines.test("a user without desk rooms connects with no rooms", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const client = await clients.connect(s);
  assert.deepEqual((await ask(client, "rooms")).rooms, []);
});

// --- presence ---------------------------------------------------------------------------------

engines.test("online {user} reaches the other party in a shared room when a user connects, not a teacher of another room", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  const elsewhere = await teacher(srv);
  await engagedRoom(srv, s, t);
  await engagedRoom(srv, await student(srv), elsewhere);
  const teacherSocket = await clients.connect(t);
  const otherSocket = await clients.connect(elsewhere);
  const otherSeen = record(otherSocket);

  const online = nextAbout(teacherSocket, "online", s.user.id);
  await clients.connect(s);
  assert.deepEqual(await online, { user: s.user.id });
  // `online` is one broadcast to everyone it is for, and it has reached the teacher; a round
  // trip on the other teacher's socket comes after any copy it was sent.
  await noEvent(
    () => events(otherSeen, "online").filter((p) => p.user === s.user.id),
    synced(otherSocket),
  );
});

engines.test("online reaches the student when their teacher connects", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  await engagedRoom(srv, s, t);
  const studentSocket = await clients.connect(s);
  const online = nextAbout(studentSocket, "online", t.user.id);
  await clients.connect(t);
  assert.deepEqual(await online, { user: t.user.id });
});

engines.test("offline {user} goes out only when the user's last socket disconnects (two tabs)", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  await engagedRoom(srv, s, t);
  const teacherSocket = await clients.connect(t);
  const seen = record(teacherSocket);
  const tab1 = await clients.connect(s);
  const tab2 = await clients.connect(s);
  await waitFor(() => events(seen, "online").some((p) => p.user === s.user.id), {
    what: "the student's online",
  });

  const tab1Id = tab1.id!;
  tab1.disconnect();
  await waitFor(() => !srv.io.of("/").sockets.has(tab1Id), { what: "the first tab to go" });
  // Presence goes out after a database read of the user's rooms, outside the order of
  // anything a test could wait for: no marker, so a pause.
  await noEvent(() => events(seen, "offline"), quietPause(), "one tab is still open");

  const offline = next(teacherSocket, "offline");
  tab2.disconnect();
  assert.deepEqual(await offline, { user: s.user.id });
  // A second `offline` would come the same unordered way: a pause again.
  await quietPause();
  assert.deepEqual(events(seen, "offline"), [{ user: s.user.id }]);
});

engines.test("offline reaches the student when their teacher's only socket disconnects", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  await engagedRoom(srv, s, t);
  const studentSocket = await clients.connect(s);
  const teacherSocket = await clients.connect(t);
  const offline = next(studentSocket, "offline");
  teacherSocket.disconnect();
  assert.deepEqual(await offline, { user: t.user.id });
});

// --- sessions ended from the server -----------------------------------------------------------

engines.test("a deactivated user's sockets are all disconnected and reconnecting is refused", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  await engagedRoom(srv, s, t);
  const teacherSocket = await clients.connect(t);
  const tab1 = await clients.connect(s);
  const tab2 = await clients.connect(s);
  const gone1 = disconnected(tab1);
  const gone2 = disconnected(tab2);
  const offline = next(teacherSocket, "offline");

  await srv.core.accounts.deactivate(s.user.id);
  await gone1;
  await gone2;
  assert.ok(!tab1.connected && !tab2.connected);
  assert.deepEqual(await offline, { user: s.user.id });
  assert.ok(teacherSocket.connected);

  const err = await connectError(clients.as(s));
  assert.ok(err.message.length > 0);
});

engines.test("ending a login session disconnects that session's sockets only", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const laptop = s;
  const phone = await newSession(srv, s);
  const room = await openRoom(srv, s);
  const laptopSocket = await clients.connect(laptop);
  const laptopTab2 = await clients.connect(laptop);
  const phoneSocket = await clients.connect(phone);
  const laptopGone = disconnected(laptopSocket);
  const laptopTab2Gone = disconnected(laptopTab2);

  const { sessionId } = await srv.core.tokens.authenticate(laptop.access);
  assert.notEqual(sessionId, (await srv.core.tokens.authenticate(phone.access)).sessionId);
  await srv.core.tokens.endSession(s.user.id, sessionId);
  await laptopGone;
  await laptopTab2Gone;
  assert.ok(!laptopSocket.connected && !laptopTab2.connected);

  // The ended session's sockets are disconnected as endSession publishes, before it returns;
  // a round trip on the phone comes after any disconnect it was sent.
  await synced(phoneSocket);
  assert.ok(phoneSocket.connected);
  assert.deepEqual((await ask(phoneSocket, "rooms")).rooms, [room.id]);
  await connectError(clients.as(laptop));
  await clients.connect(phone);
});

engines.test("with REFRESH_ROTATION, presenting a used refresh token again ends its session and disconnects that session's sockets", async () => {
  await using srv = await startTestServer({ REFRESH_ROTATION: "true", REFRESH_REUSE_LEEWAY: "0" });
  using clients = new Clients(srv);
  const s = await student(srv);
  const other = await newSession(srv, s);
  const socket = await clients.connect(s);
  const otherSocket = await clients.connect(other);
  const gone = disconnected(socket);
  await srv.core.tokens.refresh(s.refresh);
  await assert.rejects(srv.core.tokens.refresh(s.refresh));
  await gone;
  assert.ok(!socket.connected);
  // As above: the revocation disconnects sockets before the refresh is refused.
  await synced(otherSocket);
  assert.ok(otherSocket.connected);
});

engines.test("a deactivated user's REST token is refused with 401", async () => {
  await using srv = await startTestServer();
  const s = await student(srv);
  await srv.core.accounts.deactivate(s.user.id);
  const res = await api(srv, "GET", "/api/room/", { token: s.access });
  assert.equal(res.status, 401);
  const login = await api(srv, "POST", "/api/token/", {
    body: { username: s.user.username, password: s.password },
  });
  assert.equal(login.status, 401);
});

engines.test("a socket that connects later is told who in its rooms is already online", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  await engagedRoom(srv, s, t);
  await clients.connect(t);
  const late = clients.as(s);
  const seen = record(late);
  await connected(late);
  await waitFor(() => events(seen, "online").some((p) => p.user === t.user.id), {
    what: "teacher online",
  });
});

engines.test("an opaque Origin with no token is refused as unauthenticated, not with a parse error", async () => {
  await using srv = await startTestServer();
  const ws = new WebSocket(
    `${srv.url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket`,
    {
      headers: { origin: "null" },
    } as unknown as string[],
  );
  try {
    const frames: string[] = [];
    const got = new Promise<void>((resolve) => {
      ws.onmessage = (e) => {
        frames.push(String(e.data));
        if (String(e.data).startsWith("0{")) ws.send("40");
        if (String(e.data).startsWith("44")) resolve();
      };
    });
    await got;
    const error = JSON.parse(frames.find((f) => f.startsWith("44"))!.slice(2));
    assert.equal(error.message, "Authentication credentials were not provided.");
  } finally {
    ws.close();
    await new Promise((resolve) =>
      ws.readyState === WebSocket.CLOSED ? resolve(null) : ws.onclose = resolve
    );
  }
});
