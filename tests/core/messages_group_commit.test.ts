// Group commit of sends: messages that arrive together share one transaction, a refusal fails
// only its own send, and nothing is published or answered before the batch committed.
import assert from "node:assert/strict";
import { toMessage } from "@/db/messages.ts";
import { Conflict, NotFound, PermissionDenied } from "@/lib/errors.ts";
import { detailOf } from "@/routes/wording.ts";
import type { DomainEvent } from "@/lib/events.ts";
import { type NewMessageInput, SEND_MAX_BATCH } from "@/lib/messages.ts";
import type { Message, User } from "@/lib/records.ts";
import { lockRooms } from "@/db/rooms.ts";
import {
  delay,
  engines,
  makeUser,
  openObserver,
  openTestCore,
  refusal,
  type TestCore,
} from "../fixtures/mod.ts";

type Created = Extract<DomainEvent, { type: "message.created" }>;

/** Every message.created published, in publish order. */
function created(t: TestCore): Created[] {
  return t.events.filter((e) => e.event.type === "message.created").map((e) => e.event as Created);
}

/** `rooms` group rooms of `perRoom` members each (the creator included). */
async function groups(t: TestCore, rooms: number, perRoom: number) {
  const result: { id: number; members: User[] }[] = [];
  for (let r = 0; r < rooms; r++) {
    const { user: owner } = await makeUser(t.core);
    const room = await t.core.rooms.createGroup({
      creatorId: owner.id,
      name: `room ${r}`,
      roomType: "chat",
    });
    const members = [owner];
    for (let m = 1; m < perRoom; m++) {
      const { user } = await makeUser(t.core);
      await t.core.rooms.addMember(room.id, user.id);
      members.push(user);
    }
    result.push({ id: room.id, members });
  }
  return result;
}

/** `count` sends spread round-robin over the rooms and their members. */
function inputs(rooms: { id: number; members: User[] }[], count: number): NewMessageInput[] {
  return Array.from({ length: count }, (_, i) => {
    const room = rooms[i % rooms.length];
    const author = room.members[Math.floor(i / rooms.length) % room.members.length];
    return { roomId: room.id, authorId: author.id, text: `message ${i}` };
  });
}

async function storedMessages(t: TestCore): Promise<Message[]> {
  const rows = await t.database.db.selectFrom("messages").selectAll().orderBy("id").execute();
  return rows.map(toMessage);
}

engines.test("200 concurrent sends in several rooms all commit, each resolves with its row, published in id order", async () => {
  await using t = await openTestCore();
  const rooms = await groups(t, 5, 8);
  const sent = inputs(rooms, 200);
  const results = await Promise.all(sent.map((input) => t.core.messages.send(input)));

  assert.equal(results.length, 200);
  results.forEach(({ message, duplicate }, i) => {
    assert.equal(duplicate, false);
    assert.equal(message.roomId, sent[i].roomId);
    assert.equal(message.authorId, sent[i].authorId);
    assert.equal(message.text, sent[i].text);
  });
  const stored = await storedMessages(t);
  assert.deepEqual(
    [...results.map((r) => r.message)].sort((x, y) => x.id - y.id),
    stored,
    "every promise resolved with its stored row",
  );

  const events = created(t);
  const publishedIds = events.map((e) => e.message.id);
  assert.equal(publishedIds.length, 200, "one event per message");
  assert.ok(publishedIds.every((id, i) => i === 0 || id > publishedIds[i - 1]), "id order");
  assert.deepEqual(publishedIds, stored.map((m) => m.id));
  for (const e of events) assert.equal(e.author.id, e.message.authorId);

  for (const room of rooms) {
    const last = await t.database.db.selectFrom("rooms").select("last_message_id")
      .where("id", "=", room.id).executeTakeFirstOrThrow();
    const newest = Math.max(...stored.filter((m) => m.roomId === room.id).map((m) => m.id));
    assert.equal(last.last_message_id, newest, "the room's last message moved with the batch");
  }
});

engines.test("one room's messages in one batch take increasing times; its row ends on the newest", async () => {
  await using t = await openTestCore();
  const [room] = await groups(t, 1, 3);
  const at = t.clock.now; // frozen: every send reads the same clock
  const send = (i: number) =>
    t.core.messages.send({ roomId: room.id, authorId: room.members[i % 3].id, text: `m${i}` });
  const first = await Promise.all(Array.from({ length: 12 }, (_, i) => send(i)));
  const second = await Promise.all(Array.from({ length: 3 }, (_, i) => send(i)));

  const times = [...first, ...second].map((r) => r.message.createdAt);
  assert.deepEqual(times, times.map((_, i) => at + i), "one ms apart, across batches too");
  const row = await t.database.db.selectFrom("rooms").select([
    "last_message_id",
    "last_activity_at",
  ])
    .where("id", "=", room.id).executeTakeFirstOrThrow();
  const newest = second[second.length - 1].message;
  assert.deepEqual(row, { last_message_id: newest.id, last_activity_at: newest.createdAt });
});

engines.test("200 concurrent sends take far fewer transactions than messages", async () => {
  await using t = await openTestCore();
  const rooms = await groups(t, 4, 5);
  const before = t.core.messages.sendStats();
  await Promise.all(inputs(rooms, 200).map((input) => t.core.messages.send(input)));
  const after = t.core.messages.sendStats();

  assert.equal(after.items - before.items, 200);
  const transactions = after.transactions - before.transactions;
  assert.ok(transactions >= 1 && transactions <= 20, `${transactions} transactions for 200`);
  assert.ok(after.largestBatch > 1, "sends shared a transaction");

  // The stats are a read-only copy.
  (after as { transactions: number }).transactions = 0;
  assert.equal(t.core.messages.sendStats().transactions, before.transactions + transactions);
});

engines.test("a batch is capped: 600 concurrent sends use at least three transactions", async () => {
  await using t = await openTestCore();
  const rooms = await groups(t, 3, 2);
  const before = t.core.messages.sendStats();
  await Promise.all(inputs(rooms, 600).map((input) => t.core.messages.send(input)));
  const after = t.core.messages.sendStats();
  assert.ok(after.transactions - before.transactions >= Math.ceil(600 / SEND_MAX_BATCH));
  assert.ok(after.largestBatch <= SEND_MAX_BATCH);
  assert.equal((await storedMessages(t)).length, 600);
});

engines.test("a single send when idle commits on its own, in one transaction", async () => {
  await using t = await openTestCore();
  const [room] = await groups(t, 1, 2);
  const before = t.core.messages.sendStats();
  const { message } = await t.core.messages.send({
    roomId: room.id,
    authorId: room.members[1].id,
    text: "alone",
  });
  assert.equal(t.core.messages.sendStats().transactions - before.transactions, 1);
  assert.deepEqual(await storedMessages(t), [message]);
});

engines.test("a refused message in a concurrent batch rejects only itself; its neighbours commit", async () => {
  await using t = await openTestCore();
  const rooms = await groups(t, 2, 3);
  const { user: outsider } = await makeUser(t.core);
  const { user: student } = await makeUser(t.core);
  const desk = await t.core.rooms.createDesk({ studentId: student.id, text: "help with maths" });
  await t.database.db.updateTable("rooms").set({ status: "closed" }).where("id", "=", desk.id)
    .execute();
  const deskRows = (await storedMessages(t)).length;
  const eventsBefore = created(t).length;

  const good = inputs(rooms, 20);
  const before = t.core.messages.sendStats();
  const sends = good.map((input) => t.core.messages.send(input));
  const notMember = t.core.messages.send({
    roomId: rooms[0].id,
    authorId: outsider.id,
    text: "let me in",
  });
  sends.push(...good.map((input) => t.core.messages.send({ ...input, text: `${input.text}b` })));
  const closed = t.core.messages.send({ roomId: desk.id, authorId: student.id, text: "hello?" });
  const noRoom = t.core.messages.send({ roomId: desk.id + 999, authorId: student.id, text: "?" });

  await refusal(notMember, PermissionDenied);
  assert.equal(detailOf(await refusal(closed, Conflict)), "This room is closed.");
  await refusal(noRoom, NotFound);
  const results = await Promise.all(sends);
  assert.equal(
    t.core.messages.sendStats().transactions - before.transactions,
    1,
    "the refusals did not roll the batch back",
  );

  const stored = await storedMessages(t);
  assert.equal(stored.length - deskRows, 40, "only the accepted messages were stored");
  assert.deepEqual(stored.slice(deskRows), results.map((r) => r.message));
  assert.deepEqual(
    created(t).slice(eventsBefore).map((e) => e.message.id),
    results.map((r) => r.message.id),
  );
});

engines.test("an SQL error in one message rolls its batch back; each message is retried alone", async () => {
  await using t = await openTestCore();
  const rooms = await groups(t, 2, 2);
  const good = inputs(rooms, 10);
  const before = t.core.messages.sendStats();
  const sends = good.map((input) => t.core.messages.send(input));
  // No such attachment: the insert breaks a foreign key, an error no check refuses first.
  const broken = t.core.messages.send({ ...good[0], text: "", attachmentId: 999_999 });
  sends.push(...good.map((input) => t.core.messages.send({ ...input, text: `${input.text}b` })));

  await assert.rejects(
    broken,
    (err) => !(err instanceof Conflict) && /FOREIGN KEY/i.test(`${err}`),
  );
  const results = await Promise.all(sends);
  assert.equal(results.length, 20);
  // One rolled-back batch, then 21 transactions of one message each.
  assert.equal(t.core.messages.sendStats().transactions - before.transactions, 1 + 21);
  const stored = await storedMessages(t);
  assert.deepEqual(stored, results.map((r) => r.message));
  assert.deepEqual(created(t).map((e) => e.message.id), stored.map((m) => m.id));
});

engines.test("the same client_id twice in one batch: the second is a duplicate of the first", async () => {
  await using t = await openTestCore();
  const [room, other] = await groups(t, 2, 2);
  const author = room.members[0];
  await t.core.rooms.addMember(other.id, author.id);
  const before = t.core.messages.sendStats();
  const [first, neighbour, second, elsewhere] = [
    t.core.messages.send({ roomId: room.id, authorId: author.id, text: "one", clientId: "k" }),
    t.core.messages.send({ roomId: room.id, authorId: room.members[1].id, text: "hi" }),
    t.core.messages.send({ roomId: room.id, authorId: author.id, text: "retry", clientId: "k" }),
    t.core.messages.send({ roomId: other.id, authorId: author.id, text: "x", clientId: "k" }),
  ];
  await refusal(elsewhere, Conflict);
  const [a, n, b] = await Promise.all([first, neighbour, second]);
  assert.equal(t.core.messages.sendStats().transactions - before.transactions, 1, "one batch");

  assert.equal(a.duplicate, false);
  assert.equal(b.duplicate, true);
  assert.deepEqual(b.message, a.message);
  assert.equal(b.message.text, "one", "the stored message, not the retry's text");
  const stored = await storedMessages(t);
  assert.deepEqual(stored, [a.message, n.message]);
  assert.deepEqual(created(t).map((e) => e.message.id), [a.message.id, n.message.id]);
});

engines.test("a batch's events are published only once its rows are visible to another reader", async () => {
  await using t = await openTestCore();
  const rooms = await groups(t, 3, 3);
  // A second connection sees only committed data; its query runs as the event is delivered.
  const observer = await openObserver(t.url);
  try {
    const seen: { id: number; found: Promise<Record<string, unknown>[]> }[] = [];
    let settled = 0;
    let settledBeforePublish = 0;
    for (const room of rooms) {
      t.hub.subscribe(`room:${room.id}`, (event) => {
        if (event.type !== "message.created") return;
        seen.push({
          id: event.message.id,
          found: observer.query("SELECT id FROM messages WHERE id = ?", [event.message.id]),
        });
        if (settled > 0) settledBeforePublish++;
      });
    }
    const results = await Promise.all(
      inputs(rooms, 60).map((input) => t.core.messages.send(input).finally(() => settled++)),
    );
    assert.equal(seen.length, 60);
    assert.equal(settledBeforePublish, 0, "every event of the batch came before any answer");
    for (const { id, found } of seen) {
      assert.deepEqual((await found).map((r) => r.id), [id], `message ${id} committed`);
    }
    assert.deepEqual(seen.map((s) => s.id), results.map((r) => r.message.id));
  } finally {
    await observer.close();
  }
});

engines.test("sends arriving while a batch's transaction runs all go into the next one", async () => {
  await using t = await openTestCore();
  const rooms = await groups(t, 2, 3);
  const [head, ...rest] = inputs(rooms, 51);
  // Another writer holds the rooms (the whole database, on libSQL), so the first send's
  // transaction waits on it.
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  const locked = Promise.withResolvers<void>();
  const holder = t.database.db.transaction().execute(async (trx) => {
    await lockRooms(trx, rooms.map((room) => room.id));
    locked.resolve();
    await released;
  });
  await locked.promise;

  const before = t.core.messages.sendStats();
  const first = t.core.messages.send(head);
  const later: Promise<unknown>[] = [];
  for (const input of rest) {
    await delay(0); // separate turns, like separate requests
    later.push(t.core.messages.send(input));
  }
  release();
  await holder;
  await Promise.all([first, ...later]);

  const after = t.core.messages.sendStats();
  assert.equal(after.transactions - before.transactions, 2, "the first alone, then the rest");
  assert.ok(after.largestBatch >= 50);
  assert.equal((await storedMessages(t)).length, 51);
});
