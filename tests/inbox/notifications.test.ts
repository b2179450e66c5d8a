// The inbox face's notification sockets (specs/inbox.md, issue 12): /ws/notifications/{username}/
// counts one conversation, /ws/notifications/ every room the user is in. Counts come from read
// pointers: a new message raises them, read_messages brings them down, and one's own messages
// never count.
import assert from "node:assert/strict";
import {
  chatWith,
  createRoom,
  engines,
  type InboxSocket,
  notificationsOf,
  person,
  startTestServer,
  textFrame,
} from "../fixtures/mod.ts";

/** Frames of `type` until one says `count` (counts are recomputed, so some may be skipped). */
async function countReaches(socket: InboxSocket, type: string, count: number) {
  while (true) {
    const frame = await socket.frame(type);
    assert.deepEqual(Object.keys(frame).sort(), ["type", "unread_count"]);
    if (frame.unread_count === count) return;
  }
}

engines.test("both notification sockets count on open, nudge and recount on a message, and drop to zero on read", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv, { username: "ann" });
  const bob = await person(srv, { username: "bob" });
  await using annTab = await chatWith(srv, ann, "bob");
  annTab.send(textFrame("before", "bob"));
  await annTab.frame("chat_message");

  await using bobAll = await notificationsOf(srv, bob);
  await using bobWithAnn = await notificationsOf(srv, bob, "ann");
  assert.deepEqual(await bobAll.nextJson(), { type: "unread_count", unread_count: 1 });
  assert.deepEqual(await bobWithAnn.nextJson(), {
    type: "single_conversation_unread_count",
    unread_count: 1,
  });

  annTab.send(textFrame("one", "bob"));
  annTab.send(textFrame("two", "bob"));
  assert.deepEqual(await bobAll.nextJson(), { type: "new_message_notification" });
  assert.deepEqual(await bobWithAnn.nextJson(), {
    type: "single_conversation_new_message_notification",
  });
  await countReaches(bobAll, "unread_count", 3);
  await countReaches(bobWithAnn, "single_conversation_unread_count", 3);

  await using bobTab = await chatWith(srv, bob, "ann");
  bobTab.send({ type: "read_messages" });
  await countReaches(bobAll, "unread_count", 0);
  await countReaches(bobWithAnn, "single_conversation_unread_count", 0);
});

engines.test("one's own messages never count or nudge, and an outsider hears nothing", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv, { username: "ann" });
  await person(srv, { username: "bob" });
  const carol = await person(srv, { username: "carol" });
  await using annAll = await notificationsOf(srv, ann);
  await using annWithBob = await notificationsOf(srv, ann, "bob");
  await using carolAll = await notificationsOf(srv, carol);
  await using carolWithAnn = await notificationsOf(srv, carol, "ann");
  for (const socket of [annAll, carolAll]) {
    assert.deepEqual(await socket.nextJson(), { type: "unread_count", unread_count: 0 });
  }
  for (const socket of [annWithBob, carolWithAnn]) {
    assert.equal((await socket.nextJson()).unread_count, 0);
  }

  await using annTab = await chatWith(srv, ann, "bob");
  annTab.send(textFrame("to Bob", "bob"));
  await annTab.frame("chat_message");

  // Carol then gets a message from Ann: the first thing each of her sockets hears is about it.
  await using annToCarol = await chatWith(srv, ann, "carol");
  annToCarol.send(textFrame("to Carol", "carol"));
  assert.deepEqual(await carolAll.nextJson(), { type: "new_message_notification" });
  assert.deepEqual(await carolWithAnn.nextJson(), {
    type: "single_conversation_new_message_notification",
  });
  await countReaches(carolAll, "unread_count", 1);

  // Ann's own sockets heard nothing of her two messages.
  const bob = await person(srv, { username: "bob2" });
  await using bobToAnn = await chatWith(srv, bob, "ann");
  bobToAnn.send(textFrame("hello Ann", "ann"));
  assert.deepEqual(await annAll.nextJson(), { type: "new_message_notification" });
  await countReaches(annAll, "unread_count", 1);
  assert.equal(annWithBob.received.length, 1, "only the count on open");
});

engines.test("the all-rooms count follows conversations and group rooms joined after it opened", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv, { username: "ann" });
  const bob = await person(srv, { username: "bob" });
  await using annAll = await notificationsOf(srv, ann);
  assert.equal((await annAll.nextJson()).unread_count, 0);

  // A group room (meet's) Ann enters after her socket opened, where Bob then writes.
  const group = await createRoom(srv, bob, { name: "Garden" });
  await srv.core.groups.enter(group.id, ann.user.id);
  await srv.core.groups.send(group.id, bob.user.id, "in the group");
  assert.deepEqual(await annAll.nextJson(), { type: "new_message_notification" });
  await countReaches(annAll, "unread_count", 1);

  // A conversation Bob opens with her, which did not exist when her socket opened.
  await using bobTab = await chatWith(srv, bob, "ann");
  bobTab.send(textFrame("direct", "ann"));
  assert.deepEqual(await annAll.nextJson(), { type: "new_message_notification" });
  await countReaches(annAll, "unread_count", 2);
});
