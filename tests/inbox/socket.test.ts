// The inbox face's conversation socket, /ws/{username}/ (specs/inbox.md, issue 12): who is in
// the conversation (online_user_list, user_join, user_leave), chat_message committed through the
// core and then sent to every tab of both people, read_messages, and every refusal.
//
// Absence is checked without timing: after the frame that must not arrive, a chat message is
// sent, and the next frame a socket receives must be that message.
import assert from "node:assert/strict";
import {
  assertIsoDate,
  chatWith,
  engines,
  InboxSocket,
  inboxUrl,
  notificationsOf,
  person,
  startTestServer,
  textFrame,
  upgradeAt,
  WsConn,
} from "../fixtures/mod.ts";

engines.test("two people with two tabs each all get each message once, with the documented fields", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv, { username: "ann" });
  const bob = await person(srv, { username: "bob" });
  await using ann1 = await chatWith(srv, ann, "bob");
  await using ann2 = await chatWith(srv, ann, "bob");
  await using bob1 = await chatWith(srv, bob, "ann");
  await using bob2 = await chatWith(srv, bob, "ann");

  ann1.send(textFrame("Hello, Bob!", "bob"));
  const frames = await Promise.all([ann1, ann2, bob1, bob2].map((s) => s.frame("chat_message")));
  const room = await srv.core.rooms.direct(ann.user.id, bob.user.id);
  const [stored] = (await srv.core.messages.history(room.id, ann.user.id)).messages;
  for (const frame of frames) {
    assert.deepEqual(frame, {
      type: "chat_message",
      id: stored.id,
      message: "Hello, Bob!",
      multimedia_url: "",
      date_added: frame.date_added,
      from_user: { username: "ann" },
      room: "bob",
    });
    assertIsoDate(frame.date_added);
  }
  assert.equal(stored.text, "Hello, Bob!");

  // And back: the `room` a reply carries names its receiver, as the original echoed it.
  bob2.send(textFrame("Hi Ann", "ann"));
  for (const socket of [ann1, ann2, bob1, bob2]) {
    const frame = await socket.frame("chat_message");
    assert.equal(frame.message, "Hi Ann");
    assert.deepEqual(frame.from_user, { username: "bob" });
    assert.equal(frame.room, "ann");
  }
});

engines.test("the opener gets who is there, then everyone hears user_join; user_leave comes with the last tab", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv, { username: "ann" });
  const bob = await person(srv, { username: "bob" });

  const annTab = await chatWith(srv, ann, "bob");
  assert.deepEqual(await annTab.nextJson(), { type: "online_user_list", users: [] });
  assert.deepEqual(await annTab.nextJson(), { type: "user_join", user: "ann" });

  await using bobTab = await chatWith(srv, bob, "ann");
  assert.deepEqual(await bobTab.nextJson(), { type: "online_user_list", users: ["ann"] });
  assert.deepEqual(await bobTab.nextJson(), { type: "user_join", user: "bob" });
  assert.deepEqual(await annTab.nextJson(), { type: "user_join", user: "bob" });

  // A second tab of Ann's: listed with both, and announced again (each tab says hello).
  const annTab2 = await chatWith(srv, ann, "bob");
  const list = await annTab2.nextJson();
  assert.equal(list.type, "online_user_list");
  assert.deepEqual([...list.users].sort(), ["ann", "bob"]);
  for (const socket of [annTab, annTab2, bobTab]) {
    assert.deepEqual(await socket.nextJson(), { type: "user_join", user: "ann" });
  }

  // One of Ann's tabs closes: she is still there, so nobody hears user_leave.
  await annTab2.close();
  annTab.send(textFrame("still here", "bob"));
  assert.equal((await bobTab.nextJson()).type, "chat_message");
  assert.equal((await annTab.nextJson()).type, "chat_message");

  // Her last tab closes: Bob hears it once.
  await annTab.close();
  assert.deepEqual(await bobTab.nextJson(), { type: "user_leave", user: "ann" });
  bobTab.send(textFrame("gone?", "ann"));
  assert.equal((await bobTab.nextJson()).type, "chat_message");
});

engines.test("a retried chat_message with the same client_id is stored once and told to the sender alone", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv, { username: "ann" });
  const bob = await person(srv, { username: "bob" });
  await using annTab = await chatWith(srv, ann, "bob");
  await using bobTab = await chatWith(srv, bob, "ann");

  annTab.send(textFrame("once", "bob", { client_id: "c-1" }));
  const first = await annTab.frame("chat_message");
  assert.equal(first.client_id, "c-1");
  assert.equal((await bobTab.frame("chat_message")).id, first.id);
  annTab.send(textFrame("once", "bob", { client_id: "c-1" }));
  assert.equal((await annTab.frame("chat_message")).id, first.id);

  annTab.send(textFrame("next", "bob"));
  assert.equal((await bobTab.frame("chat_message")).message, "next", "the retry reached Bob");
  const room = await srv.core.rooms.direct(ann.user.id, bob.user.id);
  const { messages } = await srv.core.messages.history(room.id, ann.user.id);
  assert.deepEqual(messages.map((m) => m.text), ["once", "next"]);
});

engines.test("read_messages moves the reader's pointer to the newest message of the conversation", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv, { username: "ann" });
  const bob = await person(srv, { username: "bob" });
  await using annTab = await chatWith(srv, ann, "bob");
  await using bobTab = await chatWith(srv, bob, "ann");
  annTab.send(textFrame("one", "bob"));
  annTab.send(textFrame("two", "bob"));
  await bobTab.frame("chat_message");
  const newest = await bobTab.frame("chat_message");
  const room = await srv.core.rooms.direct(ann.user.id, bob.user.id);
  assert.equal(await srv.core.messages.unreadCount(room.id, bob.user.id), 2);

  bobTab.send({ type: "read_messages" });
  bobTab.send(textFrame("read them", "ann"));
  await bobTab.frame("chat_message");
  assert.equal(await srv.core.messages.unreadCount(room.id, bob.user.id), 0);
  assert.equal((await srv.core.rooms.membership(room.id, bob.user.id))?.lastReadId, newest.id);
});

engines.test("bad frames get an error frame, store nothing, and the socket goes on", async () => {
  await using srv = await startTestServer({ WS_MAX_MESSAGE_BYTES: "8192" });
  const ann = await person(srv, { username: "ann" });
  const bob = await person(srv, { username: "bob" });
  await person(srv, { username: "carol" });
  await using annTab = await chatWith(srv, ann, "bob");
  await annTab.frame("user_join");

  const bad: [string, unknown][] = [
    ["not JSON", "{nope"],
    ["a JSON array", "[1, 2]"],
    ["an unknown type", { type: "typing" }],
    ["no type", { message: "hi" }],
    ["a number for the message", { ...textFrame("x", "bob"), message: 5 }],
    ["a room naming a third person", textFrame("hijack", "carol")],
    ["an empty message without attachment", textFrame("   ", "bob")],
    ["a multimedia_url without an upload", {
      ...textFrame("look", "bob"),
      multimedia_url: "https://evil.example/x.png",
    }],
    ["an unknown file_identifier", { ...textFrame("file", "bob"), file_identifier: "nope.pdf" }],
    ["a message over the length limit", textFrame("x".repeat(4001), "bob")],
  ];
  for (const [what, frame] of bad) {
    annTab.send(typeof frame === "string" ? frame : JSON.stringify(frame));
    const reply = await annTab.nextJson();
    assert.equal(reply.type, "error", `${what}: ${JSON.stringify(reply)}`);
    assert.equal(typeof reply.detail, "string", what);
    assert.ok(reply.detail.length > 0, what);
    assert.notEqual(reply.detail, "A server error occurred.", what);
  }
  const room = await srv.core.rooms.direct(ann.user.id, bob.user.id);
  assert.equal((await srv.core.messages.history(room.id, ann.user.id)).messages.length, 0);

  // The room may also name the conversation as the original's clients did.
  annTab.send(textFrame("fine", "bob-ann"));
  assert.equal((await annTab.frame("chat_message")).message, "fine");

  // Over WS_MAX_MESSAGE_BYTES: closed with 1009 (message too big).
  annTab.send(JSON.stringify(textFrame("y".repeat(9000), "bob")));
  assert.equal((await annTab.closedBy()).code, 1009);
});

engines.test("the socket URL is checked before the upgrade: unknown, oneself, deactivated, reserved", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv, { username: "ann" });
  const gone = await person(srv, { username: "gone" });
  await srv.core.accounts.deactivate(gone.user.id);
  const token = `?token=${encodeURIComponent(ann.access)}`;

  const cases: [string, number][] = [
    ["/ws/nobody/", 404],
    ["/ws/gone/", 404],
    ["/ws/chat/", 404],
    ["/ws/ann/", 400],
    ["/ws/%E0%A4%A/", 404],
    [`/ws/${"x".repeat(2000)}/`, 404],
  ];
  for (const [path, status] of cases) {
    const reply = await upgradeAt(srv, path + token);
    assert.equal(reply.status, status, `${path}: ${JSON.stringify(reply.body)}`);
    assert.equal(typeof (status === 404 ? reply.body.detail : reply.body.user?.[0]), "string");
  }
  const anonymous = await upgradeAt(srv, "/ws/ann/");
  assert.equal(anonymous.status, 401);
  assert.deepEqual(anonymous.body, { detail: "Authentication credentials were not provided." });
  assert.equal((await upgradeAt(srv, "/ws/ann/?token=forged")).status, 401);
});

engines.test("every accepted way of carrying the token opens a conversation socket", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv, { username: "ann" });
  await person(srv, { username: "bob" });
  const url = inboxUrl(srv, "/ws/bob/");
  const ways: [string, ConstructorParameters<typeof InboxSocket>[1]][] = [
    ["Bearer", { bearer: ann.access }],
    ["subprotocol", { protocols: [ann.access] }],
  ];
  for (const [what, options] of ways) {
    await using socket = new InboxSocket(url, options);
    await socket.waitOpen();
    assert.equal((await socket.frame("user_join")).user, "ann", what);
  }
  // Deno's WebSocket can send headers, as mobile and server-side clients do.
  for (const scheme of ["JWT ", "Token ", ""]) {
    await using socket = new WsConn(url, false, {
      headers: { authorization: scheme + ann.access },
    });
    await socket.waitOpen();
  }
});

engines.test("logout and deactivation close the socket with 4401", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv, { username: "ann" });
  const bob = await person(srv, { username: "bob" });
  await using annTab = await chatWith(srv, ann, "bob");
  await using bobTab = await chatWith(srv, bob, "ann");
  await annTab.frame("user_join");

  const { sid } = JSON.parse(atob(ann.access.split(".")[1]));
  await srv.core.tokens.endSession(ann.user.id, sid);
  assert.equal((await annTab.closedBy()).code, 4401);

  await srv.core.accounts.deactivate(bob.user.id);
  assert.equal((await bobTab.closedBy()).code, 4401);
});

engines.test("shutting the server down closes conversation and notification sockets with 1001", async () => {
  const srv = await startTestServer();
  const ann = await person(srv, { username: "ann" });
  await person(srv, { username: "bob" });
  const chat = await chatWith(srv, ann, "bob");
  const counts = await notificationsOf(srv, ann);
  await counts.frame("unread_count");
  const closed = Promise.all([chat.closedBy(), counts.closedBy()]);
  await srv[Symbol.asyncDispose]();
  for (const event of await closed) assert.equal(event.code, 1001);
});
