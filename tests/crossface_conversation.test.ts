// One conversation on every face (DESIGN.md, issue 14): a direct message sent on lounge is on
// inbox's socket and history and in live's room; one sent on inbox reaches lounge's socket and
// live; reading on one face clears the unread count on the others.
import assert from "node:assert/strict";
import {
  api,
  chatWith,
  engines,
  lounge,
  loungeOk,
  loungeSocket,
  notificationsOf,
  type Person,
  person,
  startTestServer,
  type TestServer,
  textFrame,
} from "./fixtures/mod.ts";
import type { InboxSocket } from "./fixtures/mod.ts";

/** live's view of the caller's rooms. */
async function liveRooms(srv: TestServer, who: Person) {
  const reply = await api(srv, "GET", "/room/list", {
    headers: { authorization: `Token ${who.access}` },
  });
  assert.equal(reply.status, 200);
  return reply.body;
}

/** A live room's messages, oldest first. */
function liveMessages(room: { messages: Record<string, { id: number }> }) {
  return Object.values(room.messages).sort((a, b) => a.id - b.id) as {
    id: number;
    message: string;
    author_id: number;
    is_readed: boolean;
  }[];
}

/** Frames of `type` until one says `count`. */
async function countReaches(socket: InboxSocket, type: string, count: number) {
  while ((await socket.frame(type)).unread_count !== count) { /* an older count */ }
}

engines.test("a message sent on lounge is on inbox's socket and history and in live's room, and back", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv, { username: "ann" });
  const bob = await person(srv, { username: "bob" });
  await using annLounge = await loungeSocket(srv, ann);
  await using bobInbox = await chatWith(srv, bob, "ann");
  await using bobCounts = await notificationsOf(srv, bob);
  assert.equal((await bobCounts.frame("unread_count")).unread_count, 0);

  annLounge.chat({ chat_type: "room", other_user_id: bob.user.id, message: "from lounge" });
  const onInbox = await bobInbox.frame("chat_message");
  assert.equal(onInbox.message, "from lounge");
  assert.deepEqual(onInbox.from_user, { username: "ann" });
  const echo = await annLounge.frame("room_chat_message");
  assert.equal(echo.chat_room_id, (await srv.core.rooms.direct(ann.user.id, bob.user.id)).id);
  await countReaches(bobCounts, "unread_count", 1);

  const history = await api(srv, "GET", "/api/rooms/ann/messages", {
    headers: { authorization: bob.access },
  });
  assert.deepEqual(history.body.messages.map((m: { id: number }) => m.id), [onInbox.id]);
  const bobsLive = await liveRooms(srv, bob);
  assert.deepEqual(bobsLive.room_ids, [echo.chat_room_id]);
  assert.deepEqual(
    liveMessages(bobsLive.rooms[echo.chat_room_id]).map((m) => [m.message, m.author_id]),
    [["from lounge", ann.user.id]],
  );

  // And back, from inbox: on Ann's lounge socket and in her live room.
  bobInbox.send(textFrame("from inbox", "ann"));
  const onLounge = await annLounge.frame("room_chat_message", (f) => f.message === "from inbox");
  assert.deepEqual(
    [onLounge.user_id, onLounge.chat_room_id],
    [bob.user.id, echo.chat_room_id],
  );
  const annsLive = await liveRooms(srv, ann);
  assert.deepEqual(
    liveMessages(annsLive.rooms[echo.chat_room_id]).map((m) => m.message),
    ["from lounge", "from inbox"],
  );
  const rooms = await loungeOk(srv, "GET", "/chat_rooms", ann);
  assert.deepEqual(rooms.map((r: { chat_room_id: number }) => r.chat_room_id), [echo.chat_room_id]);
});

engines.test("reading on one face clears unread on the others: inbox, lounge and live", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv, { username: "ann" });
  const bob = await person(srv, { username: "bob" });
  await using annLounge = await loungeSocket(srv, ann);
  await using annCounts = await notificationsOf(srv, ann, "bob");
  await using bobInbox = await chatWith(srv, bob, "ann");
  assert.equal((await annCounts.frame("single_conversation_unread_count")).unread_count, 0);

  // Ann writes on lounge; Bob reads on inbox: lounge's notifications and live agree.
  annLounge.chat({ chat_type: "room", other_user_id: bob.user.id, message: "one" });
  const { chat_room_id: roomId } = await annLounge.frame("room_chat_message");
  await bobInbox.frame("chat_message");
  const unread = await loungeOk(srv, "GET", "/notifications", bob);
  assert.deepEqual(unread, [{
    chat_type: "room",
    chat_room_id: roomId,
    other_user_id: ann.user.id,
    unread: 1,
  }]);
  assert.equal(liveMessages((await liveRooms(srv, ann)).rooms[roomId])[0].is_readed, false);
  bobInbox.send({ type: "read_messages" });
  bobInbox.send(textFrame("two", "ann"));
  await bobInbox.frame("chat_message");
  assert.deepEqual(await loungeOk(srv, "GET", "/notifications", bob), []);
  assert.equal(liveMessages((await liveRooms(srv, ann)).rooms[roomId])[0].is_readed, true);

  // Bob's reply is unread for Ann on inbox until she reads it on lounge.
  await countReaches(annCounts, "single_conversation_unread_count", 1);
  const marked = await lounge(srv, "PUT", "/notifications", ann, { chat_room_id: roomId });
  assert.equal(marked.status, 200);
  await countReaches(annCounts, "single_conversation_unread_count", 0);
  const bobsView = liveMessages((await liveRooms(srv, bob)).rooms[roomId]);
  assert.equal(bobsView.find((m) => m.message === "two")?.is_readed, true);

  // And a message Ann reads by selecting the room on live.
  bobInbox.send(textFrame("three", "ann"));
  await countReaches(annCounts, "single_conversation_unread_count", 1);
  const selected = await api(srv, "GET", `/room/select/${roomId}`, {
    headers: { authorization: `Token ${ann.access}` },
  });
  assert.equal(selected.status, 200);
  await countReaches(annCounts, "single_conversation_unread_count", 0);
  assert.deepEqual(await loungeOk(srv, "GET", "/notifications", ann), []);
});
