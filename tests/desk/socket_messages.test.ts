// The desk face over Socket.IO, talking (specs/desk.md): message, seen and new_room, who may
// send them, and how bad payloads are refused without dropping the connection.
import assert from "node:assert/strict";
import {
  api,
  ask,
  assertDeskRoom,
  Clients,
  engagedRoom,
  engines,
  events,
  ISO,
  next,
  noEvent,
  openRoom,
  record,
  refused,
  startTestServer,
  student,
  synced,
  teacher,
} from "../fixtures/mod.ts";

const MESSAGE_KEYS = ["image", "room", "text", "timestamp", "user"];

/** The documented `message` event fields (extra fields, such as `id`, are allowed). */
// deno-lint-ignore no-explicit-any
function assertMessageEvent(actual: any, expected: Record<string, unknown>) {
  for (const key of MESSAGE_KEYS) assert.ok(key in actual, `"${key}" in ${JSON.stringify(actual)}`);
  assert.match(actual.timestamp, ISO);
  for (const [key, value] of Object.entries(expected)) assert.deepEqual(actual[key], value, key);
}

// --- message ----------------------------------------------------------------------------------

engines.test("message from the student reaches the teacher and the student; the ack carries the stored message", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  const room = await engagedRoom(srv, s, t);
  const studentSocket = await clients.connect(s);
  const teacherSocket = await clients.connect(t);
  const toTeacher = next(teacherSocket, "message");
  const toStudent = next(studentSocket, "message");

  const ack = await ask(studentSocket, "message", { text: "hello", image: "", room: room.id });
  assert.equal(ack?.error, undefined, JSON.stringify(ack));
  assert.ok(Number.isSafeInteger(ack.id));
  assert.match(ack.timestamp, ISO);

  const expected = { text: "hello", image: "", user: s.user.id, room: room.id };
  assertMessageEvent(await toTeacher, { ...expected, timestamp: ack.timestamp });
  assertMessageEvent(await toStudent, { ...expected, timestamp: ack.timestamp });

  const stored = await api(srv, "GET", `/api/${room.id}/messages/`, { token: t.access });
  assert.deepEqual(
    stored.body.map((m: Record<string, unknown>) => [m.id, m.text, m.user, m.timestamp]),
    [[ack.id, "hello", s.user.id, ack.timestamp]],
  );
});

engines.test("message from the teacher reaches the student and the teacher, image included", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  const room = await engagedRoom(srv, s, t);
  const studentSocket = await clients.connect(s);
  const teacherSocket = await clients.connect(t);
  const toStudent = next(studentSocket, "message");
  const toTeacher = next(teacherSocket, "message");

  const image = "https://example.com/diagram.png";
  const ack = await ask(teacherSocket, "message", { text: "look at this", image, room: room.id });
  assert.equal(ack?.error, undefined, JSON.stringify(ack));
  const expected = { text: "look at this", image, user: t.user.id, room: room.id };
  assertMessageEvent(await toStudent, expected);
  assertMessageEvent(await toTeacher, expected);
});

engines.test("message with only an image and no text is accepted", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  const room = await engagedRoom(srv, s, t);
  const studentSocket = await clients.connect(s);
  const teacherSocket = await clients.connect(t);
  const toTeacher = next(teacherSocket, "message");
  const ack = await ask(studentSocket, "message", {
    text: "",
    image: "https://example.com/x.png",
    room: room.id,
  });
  assert.equal(ack?.error, undefined, JSON.stringify(ack));
  assertMessageEvent(await toTeacher, { text: "", image: "https://example.com/x.png" });
});

engines.test("message by the student in a waiting room is stored; teachers who have not joined do not receive it", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  const room = await openRoom(srv, s);
  const studentSocket = await clients.connect(s);
  const teacherSocket = await clients.connect(t);
  const seenByTeacher = record(teacherSocket);
  const back = next(studentSocket, "message");
  const ack = await ask(studentSocket, "message", { text: "anyone there?", room: room.id });
  assert.equal(ack?.error, undefined, JSON.stringify(ack));
  assertMessageEvent(await back, { text: "anyone there?", user: s.user.id });
  // The broadcast went out before the ack; a round trip on the teacher comes after any copy.
  await noEvent(() => events(seenByTeacher, "message"), synced(teacherSocket));

  // Once the teacher joins, the history is theirs to read and new messages reach them.
  await ask(teacherSocket, "join_room", { room: room.id });
  const history = await api(srv, "GET", `/api/${room.id}/messages/`, { token: t.access });
  assert.deepEqual(history.body.map((m: { text: string }) => m.text), ["anyone there?"]);
  const toTeacher = next(teacherSocket, "message");
  await ask(studentSocket, "message", { text: "thanks for joining", room: room.id });
  assert.equal((await toTeacher).text, "thanks for joining");
});

engines.test("message from a socket connected before the room was opened (over REST) still comes back to the sender", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const studentSocket = await clients.connect(s);
  const opened = await api(srv, "POST", "/api/room/", { token: s.access, body: { text: "q" } });
  assert.equal(opened.status, 201);
  const back = next(studentSocket, "message");
  const ack = await ask(studentSocket, "message", { text: "first", room: opened.body.id });
  assert.equal(ack?.error, undefined, JSON.stringify(ack));
  assertMessageEvent(await back, { text: "first", user: s.user.id, room: opened.body.id });
});

engines.test("message with the same client_id sent twice is stored and broadcast once; both acks carry the same id", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  const room = await engagedRoom(srv, s, t);
  const studentSocket = await clients.connect(s);
  const teacherSocket = await clients.connect(t);
  const seen = [studentSocket, teacherSocket].map(record);

  const payload = { text: "only once", room: room.id, client_id: "c-123" };
  const first = await ask(studentSocket, "message", payload);
  const second = await ask(studentSocket, "message", payload);
  assert.equal(first?.error, undefined, JSON.stringify(first));
  assert.equal(second?.error, undefined, JSON.stringify(second));
  assert.equal(second.id, first.id);
  assert.equal(second.timestamp, first.timestamp);

  await synced(studentSocket, teacherSocket);
  for (const recorded of seen) {
    assert.deepEqual(events(recorded, "message").map((m) => m.text), ["only once"]);
  }
  const stored = await api(srv, "GET", `/api/${room.id}/messages/`, { token: s.access });
  assert.equal(stored.body.length, 1);
  assert.equal(stored.body[0].id, first.id);
});

engines.test("message with empty or blank text and no image is refused and not broadcast", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  const room = await engagedRoom(srv, s, t);
  const studentSocket = await clients.connect(s);
  const teacherSocket = await clients.connect(t);
  const seen = [studentSocket, teacherSocket].map(record);
  for (const payload of [{ text: "" }, { text: "   ", image: "" }, {}]) {
    const error = refused(
      await ask(studentSocket, "message", { ...payload, room: room.id }),
      "message",
    );
    assert.equal(error.code, "invalid");
    assert.ok(error.fields?.text, JSON.stringify(error));
  }
  const event = next(studentSocket, "error");
  studentSocket.emit("message", { text: "", room: room.id });
  assert.equal((await event).event, "message");
  await noEvent(
    () => seen.flatMap((recorded) => events(recorded, "message")),
    synced(studentSocket, teacherSocket),
  );
  assert.ok(studentSocket.connected);
});

engines.test("message text over 4000 characters is refused; 4000 is accepted", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  const room = await engagedRoom(srv, s, t);
  const studentSocket = await clients.connect(s);
  const teacherSocket = await clients.connect(t);
  const seen = record(teacherSocket);
  const error = refused(
    await ask(studentSocket, "message", { text: "x".repeat(4001), room: room.id }),
    "message",
  );
  assert.ok(error.fields?.text, JSON.stringify(error));
  const ok = await ask(studentSocket, "message", { text: "y".repeat(4000), room: room.id });
  assert.equal(ok?.error, undefined);
  await synced(teacherSocket);
  assert.deepEqual(events(seen, "message").map((m) => m.text.length), [4000]);
});

engines.test("MESSAGE_MAX_LENGTH sets the message limit", async () => {
  await using srv = await startTestServer({ MESSAGE_MAX_LENGTH: "10" });
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  const room = await engagedRoom(srv, s, t, "short q");
  const studentSocket = await clients.connect(s);
  refused(await ask(studentSocket, "message", { text: "x".repeat(11), room: room.id }), "message");
  const ok = await ask(studentSocket, "message", { text: "x".repeat(10), room: room.id });
  assert.equal(ok?.error, undefined, JSON.stringify(ok));
});

engines.test("message from a user who is not in the room is refused and not broadcast", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  const intruder = await student(srv);
  const bystander = await teacher(srv);
  const engaged = await engagedRoom(srv, s, t);
  const waiting = await openRoom(srv, s);
  const studentSocket = await clients.connect(s);
  const teacherSocket = await clients.connect(t);
  const intruderSocket = await clients.connect(intruder);
  const bystanderSocket = await clients.connect(bystander);
  const seen = [studentSocket, teacherSocket].map(record);

  for (const room of [engaged, waiting]) {
    for (const socket of [intruderSocket, bystanderSocket]) {
      const error = refused(
        await ask(socket, "message", { text: "let me in", room: room.id }),
        "message",
      );
      assert.equal(error.code, "permission_denied");
      assert.ok(socket.connected);
    }
  }
  const error = refused(
    await ask(intruderSocket, "message", { text: "nowhere", room: 999999 }),
    "message",
  );
  assert.equal(error.code, "not_found");
  await noEvent(
    () => seen.flatMap((recorded) => events(recorded, "message")),
    synced(studentSocket, teacherSocket),
  );
  assert.deepEqual((await ask(intruderSocket, "rooms")).rooms, []);
});

// --- seen -------------------------------------------------------------------------------------

engines.test("seen by the teacher after the student's message: seen {room, user: teacher} to both; REST shows it seen", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  const room = await engagedRoom(srv, s, t);
  const studentSocket = await clients.connect(s);
  const teacherSocket = await clients.connect(t);
  const arrived = next(teacherSocket, "message");
  const sent = await ask(studentSocket, "message", { text: "did you get this?", room: room.id });
  await arrived;

  const toStudent = next(studentSocket, "seen");
  const toTeacher = next(teacherSocket, "seen");
  const reply = await ask(teacherSocket, "seen", { room: room.id });
  assert.equal(reply?.error, undefined, JSON.stringify(reply));
  assert.deepEqual(await toStudent, { room: room.id, user: t.user.id });
  assert.deepEqual(await toTeacher, { room: room.id, user: t.user.id });

  const stored = await api(srv, "GET", `/api/${room.id}/messages/`, { token: s.access });
  assert.deepEqual(stored.body.map((m: { id: number; seen: boolean }) => [m.id, m.seen]), [
    [sent.id, true],
  ]);
});

engines.test("seen by a user who is not in the room is refused", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  const intruder = await student(srv);
  const room = await engagedRoom(srv, s, t);
  await srv.core.messages.send({ roomId: room.id, authorId: s.user.id, text: "hi" });
  const intruderSocket = await clients.connect(intruder);
  refused(await ask(intruderSocket, "seen", { room: room.id }), "seen");
  const stored = await api(srv, "GET", `/api/${room.id}/messages/`, { token: s.access });
  assert.equal(stored.body[0].seen, false);
});

// --- new_room ---------------------------------------------------------------------------------

engines.test("new_room by the room's own student: every connected teacher gets new_room with the REST room shape", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const otherStudent = await student(srv);
  const t1 = await teacher(srv);
  const t2 = await teacher(srv);
  const studentSocket = await clients.connect(s);
  const otherStudentSocket = await clients.connect(otherStudent);
  const teacherSockets = [
    await clients.connect(t1),
    await clients.connect(t1),
    await clients.connect(t2),
  ];
  const seenByOther = record(otherStudentSocket);
  const seenByTeachers = teacherSockets.map(record);

  const opened = await api(srv, "POST", "/api/room/", {
    token: s.access,
    body: { text: "Why is the sky blue?", image: "" },
  });
  assert.equal(opened.status, 201);
  const arrivals = teacherSockets.map((socket) => next(socket, "new_room"));
  const reply = await ask(studentSocket, "new_room", { room: opened.body.id });
  assert.equal(reply?.error, undefined, JSON.stringify(reply));
  for (const arrival of arrivals) {
    const room = await arrival;
    assertDeskRoom(room, {
      id: opened.body.id,
      student: s,
      teacher: null,
      status: "active",
      text: "Why is the sky blue?",
    });
    assert.deepEqual(room, opened.body);
  }
  // new_room is emitted before the ack; a round trip on each socket comes after it.
  await noEvent(
    () => events(seenByOther, "new_room"),
    synced(otherStudentSocket, ...teacherSockets),
  );
  for (const recorded of seenByTeachers) assert.equal(events(recorded, "new_room").length, 1);

  // The student's socket is now in the room: the teacher's join reaches it.
  assert.deepEqual((await ask(studentSocket, "rooms")).rooms, [opened.body.id]);
  const joined = next(studentSocket, "room_joined");
  await ask(teacherSockets[2], "join_room", { room: opened.body.id });
  assert.equal((await joined).teacher.id, t2.user.id);
});

engines.test("new_room by another student, or by a teacher, is refused and no teacher hears of it", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const other = await student(srv);
  const t = await teacher(srv);
  const room = await openRoom(srv, s);
  const otherSocket = await clients.connect(other);
  const teacherSocket = await clients.connect(t);
  const seen = record(teacherSocket);

  const error = refused(await ask(otherSocket, "new_room", { room: room.id }), "new_room");
  assert.equal(error.code, "permission_denied");
  refused(await ask(teacherSocket, "new_room", { room: room.id }), "new_room");
  const event = next(otherSocket, "error");
  otherSocket.emit("new_room", { room: room.id });
  assert.equal((await event).event, "new_room");
  await noEvent(() => events(seen, "new_room"), synced(teacherSocket, otherSocket));
  assert.deepEqual((await ask(otherSocket, "rooms")).rooms, []);
});

// --- bad payloads -----------------------------------------------------------------------------

const BAD_PAYLOADS: [string, unknown[]][] = [
  ["no payload", []],
  ["missing room", [{}]],
  ['room "abc"', [{ room: "abc" }]],
  ["room as an object", [{ room: { id: 1 } }]],
  ["room as a list", [{ room: [1] }]],
  ["room null", [{ room: null }]],
  ["a bare string", ["hello"]],
];

for (const event of ["join_room", "close_room", "message", "seen", "new_room"]) {
  engines.test(`${event} with a bad payload is refused through the ack or an error event; the socket stays connected and works`, async () => {
    await using srv = await startTestServer();
    using clients = new Clients(srv);
    const s = await student(srv);
    const t = await teacher(srv);
    const room = await engagedRoom(srv, s, t);
    const who = event === "join_room" || event === "close_room" ? t : s;
    const socket = await clients.connect(who);

    for (const [what, args] of BAD_PAYLOADS) {
      const reply = await ask(socket, event, ...args);
      const error = refused(reply, event);
      assert.ok(socket.connected, what);
      assert.notEqual(error.code, "error", `${what}: ${JSON.stringify(error)}`);

      const errorEvent = next(socket, "error");
      socket.emit(event, ...args);
      const payload = await errorEvent;
      assert.equal(payload.event, event, what);
      assert.equal(typeof payload.detail, "string", what);
      assert.ok(socket.connected, what);
    }

    // A following valid event still works.
    const valid: Record<string, unknown> = event === "message"
      ? { room: room.id, text: "still here" }
      : { room: room.id };
    const reply = await ask(socket, event === "new_room" ? "new_room" : event, valid);
    assert.equal(reply?.error, undefined, JSON.stringify(reply));
    assert.deepEqual((await ask(socket, "rooms")).rooms, event === "close_room" ? [] : [room.id]);
  });
}

// --- the whole conversation -------------------------------------------------------------------

engines.test("a whole conversation: ask, announce, join, talk both ways with seen following, close", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  const studentSocket = await clients.connect(s);
  const teacherSocket = await clients.connect(t);

  const opened = await api(srv, "POST", "/api/room/", {
    token: s.access,
    body: { text: "Help with recursion", image: "" },
  });
  const roomId = opened.body.id;
  const announced = next(teacherSocket, "new_room");
  await ask(studentSocket, "new_room", { room: roomId });
  assert.equal((await announced).id, roomId);

  const joined = next(studentSocket, "room_joined");
  await ask(teacherSocket, "join_room", { room: roomId });
  assert.equal((await joined).status, "engaged");

  let arrived = next(teacherSocket, "message");
  const q = await ask(studentSocket, "message", { text: "What is a base case?", room: roomId });
  assertMessageEvent(await arrived, { text: "What is a base case?", user: s.user.id });
  let seen = next(studentSocket, "seen");
  await ask(teacherSocket, "seen", { room: roomId });
  assert.deepEqual(await seen, { room: roomId, user: t.user.id });

  arrived = next(studentSocket, "message");
  const a = await ask(teacherSocket, "message", { text: "Where it stops.", room: roomId });
  assert.equal((await arrived).text, "Where it stops.");
  seen = next(teacherSocket, "seen");
  await ask(studentSocket, "seen", { room: roomId });
  assert.deepEqual(await seen, { room: roomId, user: s.user.id });

  const history = await api(srv, "GET", `/api/${roomId}/messages/`, { token: s.access });
  assert.deepEqual(
    history.body.map((m: Record<string, unknown>) => [m.id, m.user, m.seen]),
    [[q.id, s.user.id, true], [a.id, t.user.id, true]],
  );

  const closed = next(studentSocket, "room_closed");
  await ask(teacherSocket, "close_room", { room: roomId });
  assert.deepEqual(await closed, { status: "closed", room: roomId });
  refused(await ask(studentSocket, "message", { text: "one more", room: roomId }), "message");
});
