// The lounge socket, /socket: initialised by its first frame, every later frame signed with the
// same user's token, refusals answered as {"type": "error"} frames with nothing stored.
import assert from "node:assert/strict";
import {
  engines,
  lounge,
  LoungeSocket,
  loungeSocket,
  person,
  startTestServer,
  waitFor,
} from "../fixtures/mod.ts";

engines.test("a socket hears nothing before its init frame but the failed-init errors, and is closed after the init timeout", async () => {
  await using srv = await startTestServer({ LOUNGE_INIT_TIMEOUT: "1" });
  const a = await person(srv);
  await using watcher = await loungeSocket(srv, await person(srv));
  await using raw = new LoungeSocket(srv);
  await raw.waitOpen();
  raw.sendJson(JSON.stringify("a string, not an object"));
  const first = await raw.frame("error");
  assert.equal(first.code, "not_initialised");
  raw.sendJson({ token: "not-a-token" });
  const second = await raw.frame("error", (f) => f.code !== "not_initialised");
  assert.equal(second.code, "token_not_valid");
  const closed = await raw.waitClose(5000);
  assert.equal(closed.code, 4401);
  // Nobody heard of it: a later login of someone else is the first activity the watcher sees.
  await using other = await loungeSocket(srv, a);
  const activity = await watcher.frame("user_activity");
  assert.equal(activity.user_id, a.user.id);
  assert.ok(other.all("error").length === 0);
});

engines.test("a bad token in the init frame is refused with an error frame, and a good one then initialises", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  await using raw = new LoungeSocket(srv);
  await raw.waitOpen();
  raw.sendJson("{broken");
  const malformed = await raw.frame("error");
  assert.equal(malformed.code, "malformed");
  raw.sendJson({ token: a.access });
  raw.token = a.access;
  await raw.probe();
  assert.ok(srv.core.presence.isOnline(a.user.id));
});

engines.test("every kind of bad frame after init is refused with an error frame, stores nothing and leaves the socket up", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  const b = await person(srv);
  await using socket = await loungeSocket(srv, a);
  const errors = () => socket.all("error");
  const cases: [unknown, string][] = [
    ["{not json", "malformed"],
    [{ chat_type: "room", other_user_id: b.user.id, message: "no token" }, "invalid"],
    [{ token: b.access, chat_type: "room", other_user_id: b.user.id, message: "hi" }, "invalid"],
    [
      { token: "forged.token.here", chat_type: "room", other_user_id: b.user.id, message: "x" },
      "token_not_valid",
    ],
    [{ token: a.access, chat_type: "video", message: "x" }, "invalid"],
    [{ token: a.access, chat_type: "room", message: "no peer" }, "invalid"],
    [{ token: a.access, chat_type: "room", other_user_id: b.user.id, message: "   " }, "invalid"],
    [{ token: a.access, chat_type: "group", chat_group_id: 999999, message: "x" }, "not_found"],
  ];
  for (const [frame, code] of cases) {
    const before = errors().length;
    socket.sendJson(frame);
    await waitFor(() => errors().length > before, {
      what: `the refusal of ${JSON.stringify(frame)}`,
    });
    assert.equal(errors().at(-1).code, code, JSON.stringify(frame));
  }
  const other = errors()[2];
  assert.match(other.detail, /another user/);
  assert.deepEqual(Object.keys(errors()[5].errors), ["other_user_id"]);
  assert.deepEqual(Object.keys(errors()[6].errors), ["message"]);
  // Nothing was stored: no direct room has a message.
  const room = await srv.core.rooms.direct(a.user.id, b.user.id);
  assert.equal(room.lastMessageId, null);
  // And the socket still works.
  socket.chat({ chat_type: "room", other_user_id: b.user.id, message: "after all that" });
  const echo = await socket.frame("room_chat_message");
  assert.equal(echo.message, "after all that");
});

engines.test("a group message from a non-member is refused and reaches nobody", async () => {
  await using srv = await startTestServer();
  const owner = await person(srv);
  const outsider = await person(srv);
  const group = (await lounge(srv, "POST", "/chat_groups", owner, { name: "Closed talk" })).body;
  await using ownerSocket = await loungeSocket(srv, owner);
  await using outsiderSocket = await loungeSocket(srv, outsider);
  outsiderSocket.chat({
    chat_type: "group",
    chat_group_id: group.chat_group_id,
    message: "let me in",
  });
  const refusal = await outsiderSocket.frame("error");
  assert.equal(refusal.code, "permission_denied");
  ownerSocket.chat({ chat_type: "group", chat_group_id: group.chat_group_id, message: "marker" });
  const marker = await ownerSocket.frame("group_chat_message");
  assert.equal(marker.message, "marker");
  assert.equal(ownerSocket.all("group_chat_message").length, 1);
  await outsiderSocket.probe();
  assert.equal(outsiderSocket.all("group_chat_message").length, 0);
});

engines.test("frames sent right behind the init frame wait for it and are handled in order", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  const b = await person(srv);
  await using receiver = await loungeSocket(srv, b);
  await using socket = new LoungeSocket(srv);
  await socket.waitOpen();
  socket.token = a.access;
  socket.sendJson({ token: a.access });
  for (const message of ["one", "two", "three"]) {
    socket.chat({ chat_type: "room", other_user_id: b.user.id, message });
  }
  await receiver.frame("room_chat_message", (f) => f.message === "three");
  assert.deepEqual(receiver.all("room_chat_message").map((f) => f.message), [
    "one",
    "two",
    "three",
  ]);
  assert.deepEqual(socket.all("error"), []);
});

engines.test("an init frame with a token of a deactivated account is refused, and three failed inits close the socket", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  await srv.core.accounts.deactivate(a.user.id);
  await using raw = new LoungeSocket(srv);
  await raw.waitOpen();
  for (let i = 0; i < 3; i++) raw.sendJson({ token: a.access });
  const closed = await raw.waitClose(5000);
  assert.equal(closed.code, 4401);
  assert.equal(raw.all("error").length, 3);
  assert.ok(raw.all("error").every((f) => f.code === "token_not_valid"));
});

engines.test("the token that signed a socket's frames is refused once it expires; a fresh one of the same user is taken", async () => {
  const clock = { now: Date.now() };
  await using srv = await startTestServer({ ACCESS_TOKEN_TTL: "60s" }, { clock });
  const a = await person(srv);
  const b = await person(srv);
  await using socket = await loungeSocket(srv, a);
  socket.chat({ chat_type: "room", other_user_id: b.user.id, message: "before" });
  assert.equal((await socket.frame("room_chat_message")).message, "before");

  clock.now += 61_000;
  socket.chat({ chat_type: "room", other_user_id: b.user.id, message: "expired" });
  assert.equal((await socket.frame("error")).code, "token_not_valid");

  socket.token = (await srv.core.tokens.issue(a.user.id)).access;
  socket.chat({ chat_type: "room", other_user_id: b.user.id, message: "fresh" });
  assert.equal(
    (await socket.frame("room_chat_message", (f) => f.message === "fresh")).message,
    "fresh",
  );
  const room = await srv.core.rooms.direct(a.user.id, b.user.id);
  const { messages } = await srv.core.messages.history(room.id, a.user.id);
  assert.deepEqual(messages.map((m) => m.text), ["before", "fresh"]);
});

engines.test("logging out closes the lounge socket signed with that session's token, and deactivation closes the others", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  const b = await person(srv);
  await using socketA = await loungeSocket(srv, a);
  await using socketB = await loungeSocket(srv, b);
  socketA.chat({ chat_type: "room", other_user_id: b.user.id, message: "hello" });
  await socketA.frame("room_chat_message");

  const { sid } = JSON.parse(atob(a.access.split(".")[1]));
  await srv.core.tokens.endSession(a.user.id, sid);
  assert.equal((await socketA.waitClose()).code, 4401);
  await srv.core.accounts.deactivate(b.user.id);
  assert.equal((await socketB.waitClose()).code, 4401);
});

engines.test("a group message names a group: another room's id is not found", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  const b = await person(srv);
  const direct = await srv.core.rooms.direct(a.user.id, b.user.id);
  await using socket = await loungeSocket(srv, a);
  socket.chat({ chat_type: "group", chat_group_id: direct.id, message: "wrong kind" });
  assert.equal((await socket.frame("error")).code, "not_found");
  const { messages } = await srv.core.messages.history(direct.id, a.user.id);
  assert.equal(messages.length, 0);
});
