// Rooms and messages: one direct room per pair, idempotent sends, commit-before-publish,
// history pages, read pointers and unread counts, group and desk creation.
import assert from "node:assert/strict";
import { Conflict, NotFound, PermissionDenied, ValidationError } from "@/lib/errors.ts";
import { detailOf, fieldErrors } from "@/routes/wording.ts";
import type { DomainEvent } from "@/lib/events.ts";
import type { Message } from "@/lib/records.ts";
import {
  engines,
  makeUser,
  openObserver,
  openTestCore,
  refusal,
  type TestCore,
} from "../fixtures/mod.ts";

/** Events of one type published to one topic, in order. */
function published<T extends DomainEvent["type"]>(t: TestCore, topic: string, type: T) {
  return t.events.filter((e) => e.topic === topic && e.event.type === type)
    .map((e) => e.event as Extract<DomainEvent, { type: T }>);
}

async function twoUsersInDirectRoom(t: TestCore) {
  const { user: a } = await makeUser(t.core);
  const { user: b } = await makeUser(t.core);
  const room = await t.core.rooms.direct(a.id, b.id);
  return { a, b, room };
}

const ids = (messages: Message[]) => messages.map((m) => m.id);

// --- direct rooms ---------------------------------------------------------------------------

engines.test("direct(a, b) and direct(b, a) are the same room, with both as members", async () => {
  await using t = await openTestCore();
  const { user: a } = await makeUser(t.core);
  const { user: b } = await makeUser(t.core);
  const ab = await t.core.rooms.direct(a.id, b.id);
  const ba = await t.core.rooms.direct(b.id, a.id);
  assert.equal(ab.id, ba.id);
  assert.equal(ab.kind, "direct");
  assert.deepEqual(ab.pair, [Math.min(a.id, b.id), Math.max(a.id, b.id)]);
  const members = await t.core.rooms.members(ab.id);
  assert.deepEqual(
    members.map((m) => m.userId).sort((x, y) => x - y),
    [a.id, b.id].sort((x, y) => x - y),
  );
  assert.deepEqual(members.map((m) => m.role), ["member", "member"]);
});

engines.test("20 concurrent direct() calls in both orders create exactly one room with two members", async () => {
  await using t = await openTestCore();
  const { user: a } = await makeUser(t.core);
  const { user: b } = await makeUser(t.core);
  const rooms = await Promise.all(
    Array.from(
      { length: 20 },
      (_, i) => i % 2 === 0 ? t.core.rooms.direct(a.id, b.id) : t.core.rooms.direct(b.id, a.id),
    ),
  );
  const distinct = new Set(rooms.map((r) => r.id));
  assert.equal(distinct.size, 1);
  const [roomId] = distinct;

  const rows = await t.database.db.selectFrom("rooms").select("id").where("kind", "=", "direct")
    .where("user_low", "=", Math.min(a.id, b.id)).where("user_high", "=", Math.max(a.id, b.id))
    .execute();
  assert.deepEqual(rows, [{ id: roomId }]);
  const members = await t.database.db.selectFrom("members").select("user_id")
    .where("room_id", "=", roomId).orderBy("user_id").execute();
  assert.deepEqual(members.map((m) => m.user_id), [a.id, b.id].sort((x, y) => x - y));
  // Announced once to each of the two, not once per call.
  assert.equal(published(t, `user:${a.id}`, "room.created").length, 1);
  assert.equal(published(t, `user:${b.id}`, "room.created").length, 1);
});

engines.test("a direct room with yourself is a ValidationError and with an unknown or deactivated user NotFound", async () => {
  await using t = await openTestCore();
  const { user: a } = await makeUser(t.core);
  const self = await refusal(t.core.rooms.direct(a.id, a.id), ValidationError);
  assert.deepEqual(fieldErrors(self), { user: ["You cannot open a chat with yourself."] });
  await refusal(t.core.rooms.direct(a.id, a.id + 1000), NotFound);
  await refusal(t.core.rooms.direct(a.id + 1000, a.id), NotFound);
  const { user: gone } = await makeUser(t.core);
  await t.core.accounts.deactivate(gone.id);
  await refusal(t.core.rooms.direct(a.id, gone.id), NotFound);
  const count = await t.database.db.selectFrom("rooms").select("id").execute();
  assert.equal(count.length, 0);
});

// --- sending ---------------------------------------------------------------------------------

engines.test("a retried send with the same clientId stores one message and publishes it once", async () => {
  await using t = await openTestCore();
  const { a, room } = await twoUsersInDirectRoom(t);
  const input = { roomId: room.id, authorId: a.id, text: "hello", clientId: "c-1" };
  const first = await t.core.messages.send(input);
  const second = await t.core.messages.send({ ...input, text: "hello again" });
  assert.equal(first.duplicate, false);
  assert.equal(second.duplicate, true);
  assert.equal(second.message.id, first.message.id);
  assert.equal(second.message.text, "hello", "the stored message, not the retry's text");

  const rows = await t.database.db.selectFrom("messages").select(["id", "client_id"])
    .where("room_id", "=", room.id).execute();
  assert.deepEqual(rows, [{ id: first.message.id, client_id: "c-1" }]);
  assert.deepEqual(published(t, `room:${room.id}`, "message.created"), [{
    type: "message.created",
    message: first.message,
    author: a,
  }]);
});

engines.test("concurrent sends with one clientId store one message and publish it once", async () => {
  await using t = await openTestCore();
  const { a, room } = await twoUsersInDirectRoom(t);
  const results = await Promise.all(
    Array.from(
      { length: 10 },
      () => t.core.messages.send({ roomId: room.id, authorId: a.id, text: "hi", clientId: "same" }),
    ),
  );
  assert.equal(new Set(results.map((r) => r.message.id)).size, 1);
  assert.equal(results.filter((r) => !r.duplicate).length, 1);
  const rows = await t.database.db.selectFrom("messages").select("id")
    .where("room_id", "=", room.id).execute();
  assert.equal(rows.length, 1);
  assert.equal(published(t, `room:${room.id}`, "message.created").length, 1);
});

engines.test("the same clientId from a different author is a different message", async () => {
  await using t = await openTestCore();
  const { a, b, room } = await twoUsersInDirectRoom(t);
  const fromA = await t.core.messages.send({
    roomId: room.id,
    authorId: a.id,
    text: "x",
    clientId: "k",
  });
  const fromB = await t.core.messages.send({
    roomId: room.id,
    authorId: b.id,
    text: "y",
    clientId: "k",
  });
  assert.equal(fromB.duplicate, false);
  assert.notEqual(fromB.message.id, fromA.message.id);
  assert.equal(fromB.message.authorId, b.id);
  assert.equal(published(t, `room:${room.id}`, "message.created").length, 2);
});

engines.test("send refuses non-members, empty and overlong text, unknown rooms and closed desks", async () => {
  await using t = await openTestCore({ messageMaxLength: 20 });
  const { a, room } = await twoUsersInDirectRoom(t);
  const { user: outsider } = await makeUser(t.core);

  await refusal(
    t.core.messages.send({ roomId: room.id, authorId: outsider.id, text: "let me in" }),
    PermissionDenied,
  );
  for (const text of ["", "   \n\t"]) {
    const empty = await refusal(
      t.core.messages.send({ roomId: room.id, authorId: a.id, text }),
      ValidationError,
    );
    assert.deepEqual(fieldErrors(empty), { text: ["This field may not be blank."] });
  }
  const long = await refusal(
    t.core.messages.send({ roomId: room.id, authorId: a.id, text: "x".repeat(21) }),
    ValidationError,
  );
  assert.deepEqual(fieldErrors(long), {
    text: ["Ensure this field has no more than 20 characters."],
  });
  await refusal(
    t.core.messages.send({ roomId: room.id + 999, authorId: a.id, text: "anyone?" }),
    NotFound,
  );

  // An image alone is content; exactly the maximum length is allowed.
  const picture = await t.core.messages.send({
    roomId: room.id,
    authorId: a.id,
    text: "",
    image: "https://img.example/cat.png",
  });
  assert.equal(picture.message.image, "https://img.example/cat.png");
  const longest = await t.core.messages.send({
    roomId: room.id,
    authorId: a.id,
    text: "x".repeat(20),
  });
  assert.equal(longest.message.text.length, 20);

  const { user: student } = await makeUser(t.core);
  const desk = await t.core.rooms.createDesk({ studentId: student.id, text: "help with maths" });
  await t.core.messages.send({ roomId: desk.id, authorId: student.id, text: "still there?" });
  await t.database.db.updateTable("rooms").set({ status: "closed" }).where("id", "=", desk.id)
    .execute();
  const closed = await refusal(
    t.core.messages.send({ roomId: desk.id, authorId: student.id, text: "hello?" }),
    Conflict,
  );
  assert.equal(detailOf(closed), "This room is closed.");

  const stored = await t.database.db.selectFrom("messages").select("id").execute();
  assert.equal(stored.length, 3, "only the three accepted messages were stored");
});

engines.test("message.created is published only after the message row is committed", async () => {
  await using t = await openTestCore();
  const { a, room } = await twoUsersInDirectRoom(t);
  // A second connection sees only committed data; its query runs as the event is delivered.
  const observer = await openObserver(t.url);
  try {
    const committed: Promise<Record<string, unknown>[]>[] = [];
    const viaCore: Promise<unknown>[] = [];
    t.hub.subscribe(`room:${room.id}`, (event) => {
      if (event.type !== "message.created") return;
      committed.push(
        observer.query("SELECT id, body FROM messages WHERE id = ?", [event.message.id]),
      );
      viaCore.push(
        t.database.db.selectFrom("messages").select(["id", "body"])
          .where("id", "=", event.message.id).executeTakeFirst(),
      );
    });
    const { message } = await t.core.messages.send({
      roomId: room.id,
      authorId: a.id,
      text: "committed first",
    });
    assert.equal(committed.length, 1);
    const seen = await committed[0];
    assert.deepEqual(
      seen.map((r) => ({ id: r.id, body: r.body })),
      [{ id: message.id, body: "committed first" }],
    );
    assert.deepEqual(await viaCore[0], { id: message.id, body: "committed first" });
  } finally {
    await observer.close();
  }
});

// --- history -------------------------------------------------------------------------------

engines.test("history pages: latest first page, capped limit, before, after, ranges and both ends", async () => {
  await using t = await openTestCore();
  const { a, b, room } = await twoUsersInDirectRoom(t);
  const { user: c } = await makeUser(t.core);
  const other = await t.core.rooms.direct(a.id, c.id);
  const sent: number[] = [];
  for (let i = 0; i < 250; i++) {
    const author = i % 3 === 0 ? b.id : a.id;
    const { message } = await t.core.messages.send({
      roomId: room.id,
      authorId: author,
      text: `m${i}`,
    });
    sent.push(message.id);
    // Interleave another room's messages, so ids are not contiguous.
    if (i % 40 === 0) {
      await t.core.messages.send({ roomId: other.id, authorId: c.id, text: `other ${i}` });
    }
  }
  const page = (query = {}) => t.core.messages.history(room.id, a.id, query);

  const latest = await page();
  assert.deepEqual(ids(latest.messages), sent.slice(200));
  assert.equal(latest.messages[0].text, "m200");
  assert.equal(latest.messages[49].text, "m249");
  assert.equal(latest.hasMore, true);

  const capped = await page({ limit: 500 });
  assert.deepEqual(ids(capped.messages), sent.slice(150));
  assert.equal(capped.hasMore, true);

  const before = await page({ before: sent[100], limit: 10 });
  assert.deepEqual(ids(before.messages), sent.slice(90, 100));
  assert.equal(before.hasMore, true);

  const after = await page({ after: sent[100], limit: 10 });
  assert.deepEqual(ids(after.messages), sent.slice(101, 111));
  assert.equal(after.hasMore, true);

  const between = await page({ after: sent[100], before: sent[120] });
  assert.deepEqual(ids(between.messages), sent.slice(101, 120));
  assert.equal(between.hasMore, false);

  const firstPage = await page({ before: sent[10], limit: 10 });
  assert.deepEqual(ids(firstPage.messages), sent.slice(0, 10));
  assert.equal(firstPage.hasMore, false);
  const beforeFirst = await page({ before: sent[0] });
  assert.deepEqual(beforeFirst, { messages: [], hasMore: false });

  const lastPage = await page({ after: sent[239], limit: 10 });
  assert.deepEqual(ids(lastPage.messages), sent.slice(240));
  assert.equal(lastPage.hasMore, false);
  const afterLast = await page({ after: sent[249] });
  assert.deepEqual(afterLast, { messages: [], hasMore: false });

  // b, the other member, reads the same history; c's room never leaks in.
  const asB = await t.core.messages.history(room.id, b.id, { limit: 100 });
  assert.deepEqual(ids(asB.messages), sent.slice(150));
  assert.ok(asB.messages.every((m) => m.roomId === room.id));
});

engines.test("history refuses a zero or negative limit and readers who are not members", async () => {
  await using t = await openTestCore();
  const { a, room } = await twoUsersInDirectRoom(t);
  const { user: outsider } = await makeUser(t.core);
  await t.core.messages.send({ roomId: room.id, authorId: a.id, text: "private" });
  for (const limit of [0, -1, -50, 1.5]) {
    const err = await refusal(t.core.messages.history(room.id, a.id, { limit }), ValidationError);
    assert.deepEqual(fieldErrors(err), {
      limit: ["Ensure this value is greater than or equal to 1."],
    });
  }
  await refusal(t.core.messages.history(room.id, outsider.id), PermissionDenied);
  await refusal(t.core.messages.history(room.id + 999, a.id), NotFound);
});

// --- read pointers and unread counts ----------------------------------------------------------

engines.test("unread counts only others' messages past the read pointer", async () => {
  await using t = await openTestCore();
  const { a, b, room } = await twoUsersInDirectRoom(t);
  for (let i = 0; i < 3; i++) {
    await t.core.messages.send({ roomId: room.id, authorId: a.id, text: `from a ${i}` });
  }
  for (let i = 0; i < 2; i++) {
    await t.core.messages.send({ roomId: room.id, authorId: b.id, text: `from b ${i}` });
  }
  assert.equal(await t.core.messages.unreadCount(room.id, b.id), 3);
  assert.equal(await t.core.messages.unreadCount(room.id, a.id), 2);
  await t.core.messages.send({ roomId: room.id, authorId: b.id, text: "one more from b" });
  assert.equal(await t.core.messages.unreadCount(room.id, b.id), 3, "own messages never count");
});

engines.test("markRead without upTo moves the pointer to the newest message and publishes it", async () => {
  await using t = await openTestCore();
  const { a, b, room } = await twoUsersInDirectRoom(t);
  await t.core.messages.send({ roomId: room.id, authorId: a.id, text: "1" });
  const { message: newest } = await t.core.messages.send({
    roomId: room.id,
    authorId: a.id,
    text: "2",
  });
  assert.equal(await t.core.messages.markRead(room.id, b.id), newest.id);
  assert.equal((await t.core.rooms.membership(room.id, b.id))!.lastReadId, newest.id);
  assert.equal(await t.core.messages.unreadCount(room.id, b.id), 0);
  const event = { type: "read.updated", roomId: room.id, userId: b.id, lastReadId: newest.id };
  assert.deepEqual(published(t, `room:${room.id}`, "read.updated"), [event]);
  assert.deepEqual(published(t, `user:${b.id}`, "read.updated"), [event]);
});

engines.test("the read pointer never moves back nor past the newest message, and only moves publish", async () => {
  await using t = await openTestCore();
  const { a, b, room } = await twoUsersInDirectRoom(t);
  const sent: number[] = [];
  for (let i = 0; i < 5; i++) {
    sent.push(
      (await t.core.messages.send({ roomId: room.id, authorId: a.id, text: `${i}` }))
        .message.id,
    );
  }
  const reads = () => published(t, `room:${room.id}`, "read.updated").map((e) => e.lastReadId);

  assert.equal(await t.core.messages.markRead(room.id, b.id, sent[2]), sent[2]);
  assert.equal(await t.core.messages.unreadCount(room.id, b.id), 2);
  assert.deepEqual(reads(), [sent[2]]);

  assert.equal(await t.core.messages.markRead(room.id, b.id, sent[0]), sent[2], "not back");
  assert.equal(await t.core.messages.markRead(room.id, b.id, sent[2]), sent[2], "same place");
  assert.deepEqual(reads(), [sent[2]], "no event when the pointer stays");
  assert.equal((await t.core.rooms.membership(room.id, b.id))!.lastReadId, sent[2]);

  assert.equal(await t.core.messages.markRead(room.id, b.id, sent[4] + 1000), sent[4], "clamped");
  assert.equal((await t.core.rooms.membership(room.id, b.id))!.lastReadId, sent[4]);
  assert.equal(await t.core.messages.unreadCount(room.id, b.id), 0);
  assert.deepEqual(reads(), [sent[2], sent[4]]);

  assert.equal(await t.core.messages.markRead(room.id, b.id), sent[4]);
  assert.deepEqual(reads(), [sent[2], sent[4]]);
});

engines.test("markRead in an empty room stays at 0 and publishes nothing", async () => {
  await using t = await openTestCore();
  const { b, room } = await twoUsersInDirectRoom(t);
  assert.equal(await t.core.messages.markRead(room.id, b.id), 0);
  assert.equal(await t.core.messages.markRead(room.id, b.id, 12345), 0);
  assert.deepEqual(published(t, `room:${room.id}`, "read.updated"), []);
});

engines.test("unreadTotal sums every room and unreadByRoom maps each room to its count", async () => {
  await using t = await openTestCore();
  const { a, b, room: direct } = await twoUsersInDirectRoom(t);
  const { user: c } = await makeUser(t.core);
  const group = await t.core.rooms.createGroup({
    creatorId: c.id,
    name: "Book club",
    roomType: "chat",
  });
  await t.core.rooms.addMember(group.id, b.id);
  const quiet = await t.core.rooms.direct(b.id, c.id);

  for (let i = 0; i < 4; i++) {
    await t.core.messages.send({ roomId: direct.id, authorId: a.id, text: `a${i}` });
  }
  for (let i = 0; i < 7; i++) {
    await t.core.messages.send({ roomId: group.id, authorId: c.id, text: `c${i}` });
  }
  await t.core.messages.send({ roomId: group.id, authorId: b.id, text: "mine" });
  await t.core.messages.send({ roomId: quiet.id, authorId: b.id, text: "only mine" });

  assert.equal(await t.core.messages.unreadTotal(b.id), 11);
  assert.deepEqual(
    await t.core.messages.unreadByRoom(b.id),
    new Map([[direct.id, 4], [group.id, 7]]),
  );

  await t.core.messages.markRead(group.id, b.id);
  assert.equal(await t.core.messages.unreadTotal(b.id), 4);
  assert.deepEqual(await t.core.messages.unreadByRoom(b.id), new Map([[direct.id, 4]]));
  // c has b's one message in the group and b's one in their direct room unread.
  assert.deepEqual(
    await t.core.messages.unreadByRoom(c.id),
    new Map([[group.id, 1], [quiet.id, 1]]),
  );
  assert.equal(await t.core.messages.unreadTotal(c.id), 2);
});

engines.test("a deleted group's messages stop counting as unread", async () => {
  await using t = await openTestCore();
  const { user: owner } = await makeUser(t.core);
  const { user: reader } = await makeUser(t.core);
  const group = await t.core.rooms.createGroup({
    creatorId: owner.id,
    name: "Short-lived",
    roomType: "chat",
  });
  await t.core.rooms.addMember(group.id, reader.id);
  for (let i = 0; i < 3; i++) {
    await t.core.messages.send({ roomId: group.id, authorId: owner.id, text: `${i}` });
  }
  assert.equal(await t.core.messages.unreadTotal(reader.id), 3);

  // Soft-deleted: gone for everyone, so the reader can no longer open or mark it read...
  await t.database.db.updateTable("rooms").set({ is_active: 0 }).where("id", "=", group.id)
    .execute();
  await refusal(t.core.rooms.get(group.id), NotFound);
  await refusal(t.core.messages.markRead(group.id, reader.id), NotFound);
  // ...and its messages must not stay in the unread badge for ever.
  assert.deepEqual(await t.core.messages.unreadByRoom(reader.id), new Map());
  assert.equal(await t.core.messages.unreadTotal(reader.id), 0);
});

// --- groups and desks ------------------------------------------------------------------------

engines.test("createGroup refuses a blank or overlong name and makes its creator the owner", async () => {
  await using t = await openTestCore();
  const { user: owner } = await makeUser(t.core);
  for (const name of ["", "   "]) {
    const err = await refusal(
      t.core.rooms.createGroup({ creatorId: owner.id, name, roomType: "chat" }),
      ValidationError,
    );
    assert.deepEqual(fieldErrors(err), { name: ["This field may not be blank."] });
  }
  const long = await refusal(
    t.core.rooms.createGroup({ creatorId: owner.id, name: "n".repeat(101), roomType: "video" }),
    ValidationError,
  );
  assert.deepEqual(fieldErrors(long), {
    name: ["Ensure this field has no more than 100 characters."],
  });
  assert.equal((await t.database.db.selectFrom("rooms").select("id").execute()).length, 0);

  const room = await t.core.rooms.createGroup({
    creatorId: owner.id,
    name: "  Physics study group  ",
    roomType: "video",
  });
  assert.equal(room.kind, "group");
  assert.equal(room.name, "Physics study group");
  assert.equal(room.roomType, "video");
  assert.equal(room.createdBy, owner.id);
  const members = await t.core.rooms.members(room.id);
  assert.deepEqual(members.map((m) => [m.userId, m.role]), [[owner.id, "owner"]]);

  const longest = await t.core.rooms.createGroup({
    creatorId: owner.id,
    name: "n".repeat(100),
    roomType: "chat",
  });
  assert.equal(longest.name, "n".repeat(100));
});

engines.test("createDesk refuses a teacher and opens an active desk with the student in it", async () => {
  await using t = await openTestCore();
  const { user: teacher } = await makeUser(t.core, { role: "teacher" });
  const { user: student } = await makeUser(t.core);

  const err = await refusal(
    t.core.rooms.createDesk({ studentId: teacher.id, text: "I need help" }),
    PermissionDenied,
  );
  assert.equal(detailOf(err), "Only students can open a room.");

  const desk = await t.core.rooms.createDesk({
    studentId: student.id,
    text: "What is a derivative?",
  });
  assert.equal(desk.kind, "desk");
  assert.equal(desk.status, "active");
  assert.equal(desk.topic, "What is a derivative?");
  assert.equal(desk.createdBy, student.id);
  const members = await t.core.rooms.members(desk.id);
  assert.deepEqual(members.map((m) => [m.userId, m.role]), [[student.id, "student"]]);
  const row = await t.database.db.selectFrom("rooms").select("status").where("id", "=", desk.id)
    .executeTakeFirstOrThrow();
  assert.equal(row.status, "active");
  assert.equal(published(t, "role:teacher", "room.created").length, 1);
});

engines.test("one author reusing a clientId in another room is refused, not answered with the first room's message", async () => {
  await using t = await openTestCore();
  const { a, room } = await twoUsersInDirectRoom(t);
  const { user: c } = await makeUser(t.core);
  const other = await t.core.rooms.direct(a.id, c.id);
  await t.core.messages.send({ roomId: room.id, authorId: a.id, text: "one", clientId: "dup" });
  await refusal(
    t.core.messages.send({ roomId: other.id, authorId: a.id, text: "two", clientId: "dup" }),
    Conflict,
  );
  const page = await t.core.messages.history(other.id, a.id);
  assert.equal(page.messages.length, 0);
});
