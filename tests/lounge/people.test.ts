// Login, presence, logout, users and profile on the lounge face, seen by a second user.
import assert from "node:assert/strict";
import {
  api,
  engines,
  lounge,
  loungeGetWithBody,
  loungeOk,
  loungeSocket,
  newSession,
  person,
  startTestServer,
} from "../fixtures/mod.ts";

engines.test("login by POST, by GET with the query, and at /http//login, answers a token the lounge accepts", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  const credentials = { email: a.email, password: a.password };
  const posted = await loungeOk(srv, "POST", "/login", undefined, credentials);
  const query = new URLSearchParams(credentials).toString();
  const byQuery = await loungeOk(srv, "GET", `/login?${query}`, undefined);
  const doubled = await api(srv, "POST", "/http//login", { body: credentials });
  assert.equal(doubled.status, 200, JSON.stringify(doubled.body));
  for (const reply of [posted, byQuery, doubled.body]) {
    assert.equal(typeof reply.token, "string");
    assert.equal(reply.user_id, a.user.id);
    // The token works in `authentication`, in bare `Authorization` and as Bearer.
    const viaAuthentication = await loungeOk(srv, "GET", "/users/profile", reply.token);
    assert.equal(viaAuthentication.user_id, a.user.id);
    const bare = await api(srv, "GET", "/http/users/profile", {
      headers: { authorization: reply.token },
    });
    assert.equal(bare.status, 200);
    const bearer = await api(srv, "GET", "/http//users/profile", { token: reply.token });
    assert.equal(bearer.status, 200);
  }
  const wrong = await lounge(srv, "POST", "/login", undefined, { ...credentials, password: "no" });
  assert.equal(wrong.status, 401);
  const missing = await lounge(srv, "GET", "/login", undefined);
  assert.equal(missing.status, 400);
  assert.deepEqual(Object.keys(missing.body).sort(), ["email", "password"]);
});

engines.test("a GET's JSON body never reaches the routes (Deno's server drops it): its fields are asked for in the query, as a 400, never a 500", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  const reply = await loungeGetWithBody(srv, "/login", undefined, {
    email: a.email,
    password: a.password,
  });
  assert.equal(reply.status, 400);
  assert.deepEqual(Object.keys(reply.body).sort(), ["email", "password"]);
});

engines.test("socket init tells other online users user_activity login true; GET /http/logout ends the session and tells login false", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  const b = await person(srv);
  await using watcher = await loungeSocket(srv, b);
  const token = (await loungeOk(
    srv,
    "GET",
    `/login?email=${encodeURIComponent(a.email)}&password=${a.password}`,
    undefined,
  )).token;
  await using socket = await loungeSocket(srv, { ...a, access: token });
  const online = await watcher.frame("user_activity", (f) => f.login === true);
  assert.equal(online.user_id, a.user.id);
  assert.equal(socket.all("user_activity").length, 0, "nobody is told about themselves");
  const users = await loungeOk(srv, "GET", "/users", b);
  assert.deepEqual(users.find((u: { user_id: number }) => u.user_id === a.user.id), {
    user_id: a.user.id,
    first_name: a.user.firstName,
    last_name: a.user.lastName,
    is_online: true,
    is_camera: false,
  });
  await loungeOk(srv, "GET", "//logout", token);
  const closed = await socket.waitClose(5000);
  assert.equal(closed.code, 4401);
  const offline = await watcher.frame("user_activity", (f) => f.login === false);
  assert.equal(offline.user_id, a.user.id);
  assert.equal((await lounge(srv, "GET", "/users/profile", token)).status, 401);
  const after = await loungeOk(srv, "GET", "/users", b);
  assert.equal(after.find((u: { user_id: number }) => u.user_id === a.user.id).is_online, false);
  // POST works as well.
  const again = await newSession(srv, a);
  await loungeOk(srv, "POST", "/logout", again);
  assert.equal((await lounge(srv, "GET", "/users/profile", again)).status, 401);
});

engines.test("a profile change reaches every online user as user_update; a password change ends the other sessions only", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  const b = await person(srv);
  const otherSession = await newSession(srv, a);
  await using watcher = await loungeSocket(srv, b);
  await using own = await loungeSocket(srv, otherSession);
  const profile = await loungeOk(srv, "PUT", "/users/profile", a, {
    first_name: "Ada",
    last_name: "Lovelace",
  });
  assert.deepEqual(profile, {
    user_id: a.user.id,
    email: a.email,
    first_name: "Ada",
    last_name: "Lovelace",
  });
  const update = await watcher.frame("user_update");
  assert.deepEqual(update, {
    type: "user_update",
    user_id: a.user.id,
    first_name: "Ada",
    last_name: "Lovelace",
  });
  const weak = await lounge(srv, "PUT", "/users/profile", a, { password: "123" });
  assert.equal(weak.status, 400);
  assert.ok(weak.body.password);
  await loungeOk(srv, "PUT", "/users/profile", a, { password: "a-much-better-secret-9" });
  assert.equal((await own.waitClose(5000)).code, 4401);
  assert.equal((await lounge(srv, "GET", "/users/profile", otherSession)).status, 401);
  assert.equal((await loungeOk(srv, "GET", "/users/profile", a)).first_name, "Ada");
  const login = await lounge(srv, "POST", "/login", undefined, {
    email: a.email,
    password: "a-much-better-secret-9",
  });
  assert.equal(login.status, 200);
});

engines.test("a direct message from the lounge socket is the core's direct room of the pair, heard by the receiver on every socket and by the sender", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  const b = await person(srv);
  await using sender = await loungeSocket(srv, a);
  await using receiver = await loungeSocket(srv, b);
  await using receiver2 = await loungeSocket(srv, await newSession(srv, b));
  sender.chat({ chat_type: "room", other_user_id: b.user.id, message: "hello B" });
  const heard = await receiver.frame("room_chat_message");
  const room = await srv.core.rooms.direct(a.user.id, b.user.id);
  assert.equal(heard.chat_room_id, room.id);
  assert.equal(heard.user_id, a.user.id);
  assert.equal(heard.message, "hello B");
  assert.ok(!Number.isNaN(Date.parse(heard.timestamp)));
  assert.deepEqual(await receiver2.frame("room_chat_message"), heard);
  assert.deepEqual(await sender.frame("room_chat_message"), heard);
  // What the inbox face will show: the same room's history in the core.
  const history = await srv.core.messages.history(room.id, b.user.id);
  assert.deepEqual(history.messages.map((m) => m.text), ["hello B"]);
  // Listed, unread for B, then read.
  const rooms = await loungeOk(srv, "GET", "/chat_rooms", b);
  assert.deepEqual(
    rooms.map((
      r: { chat_room_id: number; other_user_id: number; unread: number },
    ) => [r.chat_room_id, r.other_user_id, r.unread]),
    [[room.id, a.user.id, 1]],
  );
  const notes = await loungeOk(srv, "GET", "/notifications", b);
  assert.deepEqual(notes, [{
    chat_type: "room",
    chat_room_id: room.id,
    other_user_id: a.user.id,
    unread: 1,
  }]);
  await loungeOk(srv, "PUT", "/notifications", b, { chat_room_id: room.id });
  assert.deepEqual(await loungeOk(srv, "GET", "/notifications", b), []);
  // Its messages, for members only.
  const messages = await loungeOk(srv, "GET", `/chat_rooms/${room.id}`, b);
  assert.deepEqual(messages, [{
    user_id: a.user.id,
    chat_room_id: room.id,
    message: "hello B",
    timestamp: heard.timestamp,
  }]);
  const c = await person(srv);
  assert.equal((await lounge(srv, "GET", `/chat_rooms/${room.id}`, c)).status, 403);
  assert.equal(
    (await lounge(srv, "PUT", "/notifications", c, { chat_room_id: room.id })).status,
    403,
  );
});
