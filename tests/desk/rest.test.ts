// The desk face over HTTP (specs/desk.md): tokens, the room list, opening a room, and a
// room's messages, against the whole service on an ephemeral port.
import assert from "node:assert/strict";
import {
  api,
  ask,
  assertDeskRoom,
  Clients,
  engagedRoom,
  engines,
  ISO,
  openRoom,
  startTestServer,
  student,
  teacher,
} from "../fixtures/mod.ts";

// --- tokens -----------------------------------------------------------------------------------

engines.test("POST /api/token/ with good credentials returns an access and a refresh token that authenticate", async () => {
  await using srv = await startTestServer();
  const s = await student(srv);
  const res = await api(srv, "POST", "/api/token/", {
    body: { username: s.user.username, password: s.password },
  });
  assert.equal(res.status, 200);
  assert.equal(typeof res.body.access, "string");
  assert.equal(typeof res.body.refresh, "string");
  assert.match(res.body.access, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  assert.match(res.body.refresh, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  const rooms = await api(srv, "GET", "/api/room/", { token: res.body.access });
  assert.equal(rooms.status, 200);
  assert.deepEqual(rooms.body, []);
});

engines.test("POST /api/token/ with a wrong password or an unknown user is 401 with a detail", async () => {
  await using srv = await startTestServer();
  const s = await student(srv);
  for (
    const body of [
      { username: s.user.username, password: "wrong-password-123" },
      { username: "nobody-here", password: s.password },
    ]
  ) {
    const res = await api(srv, "POST", "/api/token/", { body });
    assert.equal(res.status, 401);
    assert.equal(typeof res.body.detail, "string");
    assert.ok(res.body.detail.length > 0);
    assert.equal(res.body.access, undefined);
  }
});

engines.test("POST /api/token/ without a username or password is 400 with field errors", async () => {
  await using srv = await startTestServer();
  const res = await api(srv, "POST", "/api/token/", { body: { username: "someone" } });
  assert.equal(res.status, 400);
  assert.ok(Array.isArray(res.body.password));
});

engines.test("POST /api/token/refresh/ answers {access} only, as the document shows, and the refresh token keeps working", async () => {
  await using srv = await startTestServer();
  const s = await student(srv);
  for (let i = 0; i < 2; i++) {
    const res = await api(srv, "POST", "/api/token/refresh/", { body: { refresh: s.refresh } });
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body), ["access"]);
    assert.equal((await api(srv, "GET", "/api/room/", { token: res.body.access })).status, 200);
  }
});

engines.test("with REFRESH_ROTATION, POST /api/token/refresh/ returns a working access token and a rotated refresh token; the old refresh token is then refused", async () => {
  await using srv = await startTestServer({ REFRESH_ROTATION: "true", REFRESH_REUSE_LEEWAY: "0" });
  const s = await student(srv);
  const res = await api(srv, "POST", "/api/token/refresh/", { body: { refresh: s.refresh } });
  assert.equal(res.status, 200);
  assert.equal(typeof res.body.access, "string");
  assert.equal(typeof res.body.refresh, "string");
  assert.notEqual(res.body.refresh, s.refresh);
  assert.equal((await api(srv, "GET", "/api/room/", { token: res.body.access })).status, 200);

  const again = await api(srv, "POST", "/api/token/refresh/", {
    body: { refresh: res.body.refresh },
  });
  assert.equal(again.status, 200);
  const reused = await api(srv, "POST", "/api/token/refresh/", { body: { refresh: s.refresh } });
  assert.equal(reused.status, 401);
  assert.equal(typeof reused.body.detail, "string");
});

engines.test("POST /api/token/refresh/ with an access token or garbage is 401", async () => {
  await using srv = await startTestServer();
  const s = await student(srv);
  for (const refresh of [s.access, "not-a-token"]) {
    const res = await api(srv, "POST", "/api/token/refresh/", { body: { refresh } });
    assert.equal(res.status, 401);
    assert.equal(typeof res.body.detail, "string");
  }
});

// --- GET /api/room/ ---------------------------------------------------------------------------

engines.test("GET /api/room/ without a token, or with a garbage or refresh token, is 401 with a detail", async () => {
  await using srv = await startTestServer();
  const s = await student(srv);
  for (const token of [undefined, "garbage", s.refresh]) {
    const res = await api(srv, "GET", "/api/room/", { token });
    assert.equal(res.status, 401, `token ${token}`);
    assert.equal(typeof res.body.detail, "string");
  }
});

engines.test("GET /api/room/ for a student lists only their own rooms, newest first, in the documented shape", async () => {
  await using srv = await startTestServer();
  const s = await student(srv);
  const other = await student(srv);
  const t = await teacher(srv);
  const first = await openRoom(srv, s, "first question");
  await openRoom(srv, other, "someone else's question");
  const second = await engagedRoom(srv, s, t, "second question");
  const third = await openRoom(srv, s, "third question");

  const res = await api(srv, "GET", "/api/room/", { token: s.access });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.map((r: { id: number }) => r.id), [third.id, second.id, first.id]);
  assertDeskRoom(res.body[0], {
    id: third.id,
    student: s,
    teacher: null,
    status: "active",
    text: "third question",
  });
  assertDeskRoom(res.body[1], {
    id: second.id,
    student: s,
    teacher: t,
    status: "engaged",
    text: "second question",
  });
  assertDeskRoom(res.body[2], {
    id: first.id,
    student: s,
    teacher: null,
    status: "active",
    text: "first question",
  });
  // The timestamp is the room's creation time.
  assert.equal(Date.parse(res.body[2].timestamp), first.createdAt);
});

engines.test("GET /api/room/ for a teacher lists the waiting rooms and the rooms they hold, not other teachers' engaged or closed rooms", async () => {
  await using srv = await startTestServer();
  const s1 = await student(srv);
  const s2 = await student(srv);
  const t = await teacher(srv);
  const other = await teacher(srv);
  const waiting1 = await openRoom(srv, s1, "waiting one");
  const heldByOther = await engagedRoom(srv, s1, other, "held by the other teacher");
  const closedByOther = await engagedRoom(srv, s2, other, "closed by the other teacher");
  await srv.core.desk.close(closedByOther.id, other.user.id);
  const mine = await engagedRoom(srv, s2, t, "held by me");
  const mineClosed = await engagedRoom(srv, s1, t, "closed by me");
  await srv.core.desk.close(mineClosed.id, t.user.id);
  const waiting2 = await openRoom(srv, s2, "waiting two");

  const res = await api(srv, "GET", "/api/room/", { token: t.access });
  assert.equal(res.status, 200);
  const ids = res.body.map((r: { id: number }) => r.id);
  assert.deepEqual(ids, [waiting2.id, mineClosed.id, mine.id, waiting1.id]);
  assert.ok(!ids.includes(heldByOther.id));
  assert.ok(!ids.includes(closedByOther.id));
  assertDeskRoom(res.body[0], {
    student: s2,
    teacher: null,
    status: "active",
    text: "waiting two",
  });
  assertDeskRoom(res.body[1], { student: s1, teacher: t, status: "closed", text: "closed by me" });
  assertDeskRoom(res.body[2], { student: s2, teacher: t, status: "engaged", text: "held by me" });

  // The other teacher sees their own two and the waiting ones.
  const theirs = await api(srv, "GET", "/api/room/", { token: other.access });
  assert.deepEqual(
    theirs.body.map((r: { id: number }) => r.id),
    [waiting2.id, closedByOther.id, heldByOther.id, waiting1.id],
  );
});

engines.test("GET /api/room/: teacher is null until a teacher joins, then the teacher object with an absolute image URL", async () => {
  await using srv = await startTestServer();
  const s = await student(srv);
  const t = await teacher(srv, { firstName: "Ada", lastName: "Lovelace" });
  const room = await openRoom(srv, s, "help");
  const before = await api(srv, "GET", "/api/room/", { token: s.access });
  assert.equal(before.body[0].teacher, null);
  assert.match(before.body[0].student.image, /^http/);

  await srv.core.desk.join(room.id, t.user.id);
  const after = await api(srv, "GET", "/api/room/", { token: s.access });
  assertDeskRoom(after.body[0], {
    id: room.id,
    student: s,
    teacher: t,
    status: "engaged",
    text: "help",
  });
  assert.equal(after.body[0].teacher.first_name, "Ada");
  assert.equal(after.body[0].teacher.last_name, "Lovelace");
  assert.ok(after.body[0].teacher.image.startsWith("http"));
});

engines.test("GET /api/room/ leaves out direct rooms", async () => {
  await using srv = await startTestServer();
  const s = await student(srv);
  const t = await teacher(srv);
  await srv.core.rooms.direct(s.user.id, t.user.id);
  for (const who of [s, t]) {
    const res = await api(srv, "GET", "/api/room/", { token: who.access });
    assert.deepEqual(res.body, []);
  }
});

// --- POST /api/room/ --------------------------------------------------------------------------

engines.test("POST /api/room/ by a student opens an active room: 201 with the room shape, and it is listed", async () => {
  await using srv = await startTestServer();
  const s = await student(srv);
  const res = await api(srv, "POST", "/api/room/", {
    token: s.access,
    body: { text: "What is a derivative?", image: "https://example.com/q.png" },
  });
  assert.equal(res.status, 201);
  assertDeskRoom(res.body, {
    student: s,
    teacher: null,
    status: "active",
    text: "What is a derivative?",
    image: "https://example.com/q.png",
  });
  const list = await api(srv, "GET", "/api/room/", { token: s.access });
  assert.deepEqual(list.body, [res.body]);
});

engines.test("POST /api/room/ with an image and no text opens a room", async () => {
  await using srv = await startTestServer();
  const s = await student(srv);
  const res = await api(srv, "POST", "/api/room/", {
    token: s.access,
    body: { image: "https://example.com/q.png" },
  });
  assert.equal(res.status, 201);
  assert.equal(res.body.text, "");
  assert.equal(res.body.image, "https://example.com/q.png");
});

engines.test("POST /api/room/ by a teacher is 403 with a detail and opens nothing", async () => {
  await using srv = await startTestServer();
  const t = await teacher(srv);
  const res = await api(srv, "POST", "/api/room/", { token: t.access, body: { text: "hi" } });
  assert.equal(res.status, 403);
  assert.equal(typeof res.body.detail, "string");
  assert.deepEqual((await api(srv, "GET", "/api/room/", { token: t.access })).body, []);
});

engines.test("POST /api/room/ with empty or blank text and no image is 400 with a text field error", async () => {
  await using srv = await startTestServer();
  const s = await student(srv);
  for (const body of [{ text: "", image: "" }, { text: "   " }, {}]) {
    const res = await api(srv, "POST", "/api/room/", { token: s.access, body });
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.ok(Array.isArray(res.body.text), JSON.stringify(res.body));
    assert.equal(typeof res.body.text[0], "string");
  }
  assert.deepEqual((await api(srv, "GET", "/api/room/", { token: s.access })).body, []);
});

engines.test("POST /api/room/ with text over MESSAGE_MAX_LENGTH is 400 with a text field error", async () => {
  await using srv = await startTestServer({ MESSAGE_MAX_LENGTH: "10" });
  const s = await student(srv);
  const tooLong = await api(srv, "POST", "/api/room/", {
    token: s.access,
    body: { text: "x".repeat(11) },
  });
  assert.equal(tooLong.status, 400);
  assert.ok(Array.isArray(tooLong.body.text));
  const fits = await api(srv, "POST", "/api/room/", {
    token: s.access,
    body: { text: "x".repeat(10) },
  });
  assert.equal(fits.status, 201);
});

engines.test("POST /api/room/ without a token is 401", async () => {
  await using srv = await startTestServer();
  const res = await api(srv, "POST", "/api/room/", { body: { text: "hello" } });
  assert.equal(res.status, 401);
  assert.equal(typeof res.body.detail, "string");
});

// --- GET /api/<room>/messages/ ----------------------------------------------------------------

engines.test("GET /api/<room>/messages/ returns the room's messages oldest first in the documented shape", async () => {
  await using srv = await startTestServer();
  const s = await student(srv);
  const t = await teacher(srv);
  const room = await engagedRoom(srv, s, t);
  const a = await srv.core.messages.send({ roomId: room.id, authorId: s.user.id, text: "hello" });
  const b = await srv.core.messages.send({
    roomId: room.id,
    authorId: t.user.id,
    text: "hi there",
    image: "https://example.com/a.png",
  });
  for (const who of [s, t]) {
    const res = await api(srv, "GET", `/api/${room.id}/messages/`, { token: who.access });
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 2);
    for (const m of res.body) {
      assert.deepEqual(
        Object.keys(m).sort(),
        ["id", "image", "room", "seen", "text", "timestamp", "user"],
      );
      assert.match(m.timestamp, ISO);
    }
    assert.deepEqual(res.body.map((m: { id: number }) => m.id), [a.message.id, b.message.id]);
    assert.deepEqual(
      { ...res.body[0], timestamp: undefined },
      {
        id: a.message.id,
        text: "hello",
        image: "",
        seen: false,
        timestamp: undefined,
        room: room.id,
        user: s.user.id,
      },
    );
    assert.deepEqual(
      { ...res.body[1], timestamp: undefined },
      {
        id: b.message.id,
        text: "hi there",
        image: "https://example.com/a.png",
        seen: false,
        timestamp: undefined,
        room: room.id,
        user: t.user.id,
      },
    );
    assert.equal(Date.parse(res.body[0].timestamp), a.message.createdAt);
  }
});

engines.test("GET /api/<room>/messages/ of a room without messages is an empty list", async () => {
  await using srv = await startTestServer();
  const s = await student(srv);
  const room = await openRoom(srv, s);
  const res = await api(srv, "GET", `/api/${room.id}/messages/`, { token: s.access });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, []);
});

engines.test("GET /api/<room>/messages/ is 403 for another student and for a teacher who has not joined; 401 without a token", async () => {
  await using srv = await startTestServer();
  const s = await student(srv);
  const other = await student(srv);
  const t = await teacher(srv);
  const bystander = await teacher(srv);
  const waiting = await openRoom(srv, s);
  await srv.core.messages.send({ roomId: waiting.id, authorId: s.user.id, text: "anyone?" });
  const engaged = await engagedRoom(srv, s, t);
  await srv.core.messages.send({ roomId: engaged.id, authorId: s.user.id, text: "secret" });

  for (const room of [waiting, engaged]) {
    for (const who of [other, bystander]) {
      const res = await api(srv, "GET", `/api/${room.id}/messages/`, { token: who.access });
      assert.equal(res.status, 403, `room ${room.status}, user ${who.user.username}`);
      assert.equal(typeof res.body.detail, "string");
    }
    const anonymous = await api(srv, "GET", `/api/${room.id}/messages/`);
    assert.equal(anonymous.status, 401);
  }
  // The teacher who joined may read.
  const res = await api(srv, "GET", `/api/${engaged.id}/messages/`, { token: t.access });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.map((m: { text: string }) => m.text), ["secret"]);
});

engines.test("GET /api/<room>/messages/ of a closed room still lists its messages for its student and teacher", async () => {
  await using srv = await startTestServer();
  const s = await student(srv);
  const t = await teacher(srv);
  const room = await engagedRoom(srv, s, t);
  await srv.core.messages.send({ roomId: room.id, authorId: s.user.id, text: "thanks" });
  await srv.core.desk.close(room.id, t.user.id);
  for (const who of [s, t]) {
    const res = await api(srv, "GET", `/api/${room.id}/messages/`, { token: who.access });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.map((m: { text: string }) => m.text), ["thanks"]);
  }
});

engines.test("GET /api/<room>/messages/ is 404 for no such room and for a room that is not a desk room", async () => {
  await using srv = await startTestServer();
  const s = await student(srv);
  const t = await teacher(srv);
  const direct = await srv.core.rooms.direct(s.user.id, t.user.id);
  await srv.core.messages.send({ roomId: direct.id, authorId: s.user.id, text: "dm" });
  for (const id of [direct.id, 999999]) {
    const res = await api(srv, "GET", `/api/${id}/messages/`, { token: s.access });
    assert.equal(res.status, 404, `room ${id}`);
    assert.equal(typeof res.body.detail, "string");
  }
});

engines.test("GET /api/<room>/messages/?before=<id>&limit=N pages backwards, each page oldest first", async () => {
  await using srv = await startTestServer();
  const s = await student(srv);
  const t = await teacher(srv);
  const room = await engagedRoom(srv, s, t);
  const ids: number[] = [];
  for (let i = 0; i < 7; i++) {
    const author = i % 2 === 0 ? s : t;
    const sent = await srv.core.messages.send({
      roomId: room.id,
      authorId: author.user.id,
      text: `m${i}`,
    });
    ids.push(sent.message.id);
  }
  const path = `/api/${room.id}/messages/`;
  const newest = await api(srv, "GET", `${path}?limit=3`, { token: s.access });
  assert.equal(newest.status, 200);
  assert.deepEqual(newest.body.map((m: { id: number }) => m.id), ids.slice(4));

  const page2 = await api(srv, "GET", `${path}?before=${ids[4]}&limit=3`, { token: s.access });
  assert.deepEqual(page2.body.map((m: { id: number }) => m.id), ids.slice(1, 4));
  const page3 = await api(srv, "GET", `${path}?before=${ids[1]}&limit=3`, { token: s.access });
  assert.deepEqual(page3.body.map((m: { id: number }) => m.id), ids.slice(0, 1));
  const empty = await api(srv, "GET", `${path}?before=${ids[0]}&limit=3`, { token: s.access });
  assert.deepEqual(empty.body, []);

  // before alone: the messages before it.
  const beforeOnly = await api(srv, "GET", `${path}?before=${ids[2]}`, { token: s.access });
  assert.deepEqual(beforeOnly.body.map((m: { id: number }) => m.id), ids.slice(0, 2));
  assert.deepEqual(page2.body.map((m: { text: string }) => m.text), ["m1", "m2", "m3"]);
});

engines.test("GET /api/<room>/messages/ with a non-numeric limit or before is 400", async () => {
  await using srv = await startTestServer();
  const s = await student(srv);
  const room = await openRoom(srv, s);
  for (const query of ["limit=abc", "before=xyz", "limit=0"]) {
    const res = await api(srv, "GET", `/api/${room.id}/messages/?${query}`, { token: s.access });
    assert.equal(res.status, 400, query);
  }
});

engines.test("GET /api/<room>/messages/ without paging parameters returns every message, also more than 100", async () => {
  await using srv = await startTestServer();
  const s = await student(srv);
  const t = await teacher(srv);
  const room = await engagedRoom(srv, s, t);
  const ids: number[] = [];
  for (let i = 0; i < 130; i++) {
    const author = i % 3 === 0 ? t : s;
    const sent = await srv.core.messages.send({
      roomId: room.id,
      authorId: author.user.id,
      text: `message ${i}`,
    });
    ids.push(sent.message.id);
  }
  const res = await api(srv, "GET", `/api/${room.id}/messages/`, { token: t.access });
  assert.equal(res.status, 200);
  assert.equal(res.body.length, 130);
  assert.deepEqual(res.body.map((m: { id: number }) => m.id), ids);
  assert.equal(res.body[0].text, "message 0");
  assert.equal(res.body[129].text, "message 129");
});

engines.test("GET /api/<room>/messages/: seen is false until the other person emits seen, then true for their messages only", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  const room = await engagedRoom(srv, s, t);
  const studentSocket = await clients.connect(s);
  const teacherSocket = await clients.connect(t);

  const fromStudent = await ask(studentSocket, "message", { room: room.id, text: "question" });
  assert.equal(typeof fromStudent.id, "number");
  const fromTeacher = await ask(teacherSocket, "message", { room: room.id, text: "answer" });
  const path = `/api/${room.id}/messages/`;

  // Writing back does not mark anything seen; neither does reading the REST list.
  let list = await api(srv, "GET", path, { token: s.access });
  assert.deepEqual(list.body.map((m: { seen: boolean }) => m.seen), [false, false]);
  list = await api(srv, "GET", path, { token: t.access });
  assert.deepEqual(list.body.map((m: { seen: boolean }) => m.seen), [false, false]);

  // The teacher has seen everything: the student's message is seen, the teacher's own is not.
  const reply = await ask(teacherSocket, "seen", { room: room.id });
  assert.equal(reply.error, undefined);
  list = await api(srv, "GET", path, { token: s.access });
  assert.deepEqual(
    list.body.map((m: { id: number; seen: boolean }) => [m.id, m.seen]),
    [[fromStudent.id, true], [fromTeacher.id, false]],
  );

  // Then the student has seen the answer.
  await ask(studentSocket, "seen", { room: room.id });
  list = await api(srv, "GET", path, { token: t.access });
  assert.deepEqual(list.body.map((m: { seen: boolean }) => m.seen), [true, true]);
});
