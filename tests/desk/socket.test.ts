// The desk face over Socket.IO, a room's life (specs/desk.md): join_room and close_room, who
// may do them, and the status machine active → engaged → closed with no way back.
import assert from "node:assert/strict";
import {
  api,
  ask,
  Clients,
  engagedRoom,
  engines,
  events,
  next,
  noEvent,
  openRoom,
  record,
  refused,
  startTestServer,
  student,
  synced,
  teacher,
  type TestServer,
} from "../fixtures/mod.ts";

async function statusOf(srv: TestServer, roomId: number): Promise<string | null> {
  return (await srv.core.rooms.get(roomId)).status;
}

// --- join_room --------------------------------------------------------------------------------

engines.test("join_room by a teacher on an active room: room_joined {room, teacher, status: engaged} to the student and the teacher", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv, { firstName: "Grace", lastName: "Hopper" });
  const room = await openRoom(srv, s);
  const studentSocket = await clients.connect(s);
  const teacherSocket = await clients.connect(t);
  const toStudent = next(studentSocket, "room_joined");
  const toTeacher = next(teacherSocket, "room_joined");

  const reply = await ask(teacherSocket, "join_room", { room: room.id });
  assert.equal(reply?.error, undefined, JSON.stringify(reply));

  const expected = {
    room: room.id,
    teacher: {
      id: t.user.id,
      first_name: "Grace",
      last_name: "Hopper",
      image: (await toStudent).teacher.image,
    },
    status: "engaged",
  };
  assert.deepEqual(await toStudent, expected);
  assert.match(expected.teacher.image, /^https?:\/\//);
  assert.deepEqual(await toTeacher, expected);

  assert.equal(await statusOf(srv, room.id), "engaged");
  // The teacher's socket is now in the room.
  assert.deepEqual((await ask(teacherSocket, "rooms")).rooms, [room.id]);
  const listed = await api(srv, "GET", "/api/room/", { token: s.access });
  assert.equal(listed.body[0].status, "engaged");
  assert.equal(listed.body[0].teacher.id, t.user.id);
});

engines.test("join_room reaches every tab of the student and of the joining teacher, once each", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  const room = await openRoom(srv, s);
  const sockets = [
    await clients.connect(s),
    await clients.connect(s),
    await clients.connect(t),
    await clients.connect(t),
  ];
  const seen = sockets.map(record);
  await ask(sockets[2], "join_room", { room: room.id });
  // room_joined goes out before join_room's ack; a round trip on each tab comes after it.
  await synced(...sockets);
  for (const recorded of seen) {
    assert.deepEqual(events(recorded, "room_joined").map((e) => e.room), [room.id]);
  }
  // The teacher's other tab is in the room too.
  assert.deepEqual((await ask(sockets[3], "rooms")).rooms, [room.id]);
});

engines.test("join_room while the student is offline still answers room_joined to the teacher", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  const room = await openRoom(srv, s);
  const teacherSocket = await clients.connect(t);
  const joined = next(teacherSocket, "room_joined");
  const reply = await ask(teacherSocket, "join_room", { room: room.id });
  assert.equal(reply?.error, undefined);
  assert.equal((await joined).room, room.id);
  assert.equal(await statusOf(srv, room.id), "engaged");
});

engines.test("join_room by a student is refused through the ack, and with an error event without one; the socket stays connected", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const room = await openRoom(srv, s);
  const studentSocket = await clients.connect(s);
  const seen = record(studentSocket);

  const error = refused(await ask(studentSocket, "join_room", { room: room.id }), "join_room");
  assert.equal(error.code, "permission_denied");

  const event = next(studentSocket, "error");
  studentSocket.emit("join_room", { room: room.id });
  const payload = await event;
  assert.equal(payload.event, "join_room");
  assert.equal(typeof payload.detail, "string");
  assert.ok(payload.detail.length > 0);

  assert.ok(studentSocket.connected);
  assert.deepEqual((await ask(studentSocket, "rooms")).rooms, [room.id]);
  assert.deepEqual(events(seen, "room_joined"), []);
  assert.equal(await statusOf(srv, room.id), "active");
});

engines.test("join_room by a second teacher on an engaged room is refused; the first teacher keeps it and nobody hears room_joined", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  const late = await teacher(srv);
  const room = await engagedRoom(srv, s, t);
  const studentSocket = await clients.connect(s);
  const teacherSocket = await clients.connect(t);
  const lateSocket = await clients.connect(late);
  const seen = [studentSocket, teacherSocket, lateSocket].map(record);

  const error = refused(await ask(lateSocket, "join_room", { room: room.id }), "join_room");
  assert.equal(error.code, "conflict");
  await noEvent(
    () => seen.flatMap((recorded) => events(recorded, "room_joined")),
    synced(studentSocket, teacherSocket, lateSocket),
  );
  assert.equal((await srv.core.rooms.get(room.id)).teacherId, t.user.id);
  assert.deepEqual((await ask(lateSocket, "rooms")).rooms, []);
  assert.ok(lateSocket.connected);

  // Nor can the late teacher write in it.
  refused(await ask(lateSocket, "message", { room: room.id, text: "me too" }), "message");
});

engines.test("the holding teacher re-joining after a reconnect is accepted without a second room_joined", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  const room = await openRoom(srv, s);
  const studentSocket = await clients.connect(s);
  const seenByStudent = record(studentSocket);
  const first = await clients.connect(t);
  const joined = next(studentSocket, "room_joined");
  await ask(first, "join_room", { room: room.id });
  await joined;

  first.disconnect();
  const again = await clients.connect(t);
  const seenByTeacher = record(again);
  const reply = await ask(again, "join_room", { room: room.id });
  assert.equal(reply?.error, undefined, JSON.stringify(reply));
  await synced(studentSocket, again);
  assert.equal(events(seenByStudent, "room_joined").length, 1);
  assert.deepEqual(events(seenByTeacher, "room_joined"), []);
  assert.equal(await statusOf(srv, room.id), "engaged");
  assert.deepEqual((await ask(again, "rooms")).rooms, [room.id]);
});

engines.test("join_room on a room that does not exist, or on a direct room, is refused with not_found", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  const direct = await srv.core.rooms.direct(s.user.id, t.user.id);
  const teacherSocket = await clients.connect(t);
  for (const id of [999999, direct.id]) {
    const error = refused(await ask(teacherSocket, "join_room", { room: id }), "join_room");
    assert.equal(error.code, "not_found");
  }
});

// --- close_room -------------------------------------------------------------------------------

engines.test("close_room by the room's teacher: room_closed {status: closed, room} to both; then a message is refused and not broadcast", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  const room = await engagedRoom(srv, s, t);
  const studentSocket = await clients.connect(s);
  const teacherSocket = await clients.connect(t);
  const seen = [studentSocket, teacherSocket].map(record);
  const toStudent = next(studentSocket, "room_closed");
  const toTeacher = next(teacherSocket, "room_closed");

  const reply = await ask(teacherSocket, "close_room", { room: room.id });
  assert.equal(reply?.error, undefined, JSON.stringify(reply));
  assert.deepEqual(await toStudent, { status: "closed", room: room.id });
  assert.deepEqual(await toTeacher, { status: "closed", room: room.id });
  assert.equal(await statusOf(srv, room.id), "closed");

  const fromStudent = refused(
    await ask(studentSocket, "message", { room: room.id, text: "wait, one more thing" }),
    "message",
  );
  assert.equal(fromStudent.code, "conflict");
  refused(await ask(teacherSocket, "message", { room: room.id, text: "bye" }), "message");
  await noEvent(
    () => seen.flatMap((recorded) => events(recorded, "message")),
    synced(studentSocket, teacherSocket),
  );

  // Both sockets have left the room, and the REST list says closed.
  assert.deepEqual((await ask(studentSocket, "rooms")).rooms, []);
  assert.deepEqual((await ask(teacherSocket, "rooms")).rooms, []);
  const listed = await api(srv, "GET", "/api/room/", { token: s.access });
  assert.equal(listed.body[0].status, "closed");
  const messages = await api(srv, "GET", `/api/${room.id}/messages/`, { token: s.access });
  assert.deepEqual(messages.body, []);
});

engines.test("close_room by the student or by another teacher is refused and the room stays engaged", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  const other = await teacher(srv);
  const room = await engagedRoom(srv, s, t);
  const studentSocket = await clients.connect(s);
  const teacherSocket = await clients.connect(t);
  const otherSocket = await clients.connect(other);
  const seen = [studentSocket, teacherSocket, otherSocket].map(record);

  for (const socket of [studentSocket, otherSocket]) {
    const error = refused(await ask(socket, "close_room", { room: room.id }), "close_room");
    assert.equal(error.code, "permission_denied");
    assert.ok(socket.connected);
  }
  const event = next(studentSocket, "error");
  studentSocket.emit("close_room", { room: room.id });
  assert.equal((await event).event, "close_room");

  await noEvent(
    () => seen.flatMap((recorded) => events(recorded, "room_closed")),
    synced(studentSocket, teacherSocket, otherSocket),
  );
  assert.equal(await statusOf(srv, room.id), "engaged");
  // The room still works.
  const message = next(teacherSocket, "message");
  await ask(studentSocket, "message", { room: room.id, text: "still here" });
  assert.equal((await message).text, "still here");
});

engines.test("close_room while the student is offline tells the teacher; the student reconnects outside the room", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  const room = await engagedRoom(srv, s, t);
  const teacherSocket = await clients.connect(t);
  const closed = next(teacherSocket, "room_closed");
  await ask(teacherSocket, "close_room", { room: room.id });
  assert.deepEqual(await closed, { status: "closed", room: room.id });
  const studentSocket = await clients.connect(s);
  assert.deepEqual((await ask(studentSocket, "rooms")).rooms, []);
  refused(await ask(studentSocket, "message", { room: room.id, text: "hello?" }), "message");
});

// --- the status machine -----------------------------------------------------------------------

engines.test("status machine: active → engaged → closed; close_room on an active room and join_room on a closed room are refused", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t = await teacher(srv);
  const other = await teacher(srv);
  const room = await openRoom(srv, s);
  const studentSocket = await clients.connect(s);
  const teacherSocket = await clients.connect(t);
  const otherSocket = await clients.connect(other);
  const seen = record(studentSocket);

  // active: cannot be closed.
  refused(await ask(teacherSocket, "close_room", { room: room.id }), "close_room");
  assert.equal(await statusOf(srv, room.id), "active");

  // active → engaged.
  await ask(teacherSocket, "join_room", { room: room.id });
  assert.equal(await statusOf(srv, room.id), "engaged");

  // engaged → closed.
  const closed = next(studentSocket, "room_closed");
  await ask(teacherSocket, "close_room", { room: room.id });
  await closed;
  assert.equal(await statusOf(srv, room.id), "closed");

  // closed: no way back, for anyone.
  for (const socket of [teacherSocket, otherSocket]) {
    const error = refused(await ask(socket, "join_room", { room: room.id }), "join_room");
    assert.equal(error.code, "conflict");
  }
  refused(await ask(teacherSocket, "close_room", { room: room.id }), "close_room");
  refused(await ask(studentSocket, "join_room", { room: room.id }), "join_room");
  await synced(studentSocket, teacherSocket, otherSocket);
  assert.equal(await statusOf(srv, room.id), "closed");
  assert.equal(events(seen, "room_joined").length, 1);
  assert.equal(events(seen, "room_closed").length, 1);
  assert.equal((await srv.core.rooms.get(room.id)).teacherId, t.user.id);
});

engines.test("two teachers racing to join one room: exactly one is accepted", async () => {
  await using srv = await startTestServer();
  using clients = new Clients(srv);
  const s = await student(srv);
  const t1 = await teacher(srv);
  const t2 = await teacher(srv);
  const room = await openRoom(srv, s);
  const studentSocket = await clients.connect(s);
  const seen = record(studentSocket);
  const [a, b] = [await clients.connect(t1), await clients.connect(t2)];
  const replies = await Promise.all([
    ask(a, "join_room", { room: room.id }),
    ask(b, "join_room", { room: room.id }),
  ]);
  assert.equal(replies.filter((r) => r?.error === undefined).length, 1, JSON.stringify(replies));
  await synced(studentSocket, a, b);
  const joined = events(seen, "room_joined");
  assert.equal(joined.length, 1);
  assert.equal(joined[0].teacher.id, (await srv.core.rooms.get(room.id)).teacherId);
});
