// A safe retry on the meet socket: a chat frame may carry the sender's own `client_id`. A retry
// with the same id is stored once; the broadcast of the stored message echoes the id (the
// sender's acknowledgement), and a retry of a message already stored is answered to the
// retrying connection alone with the stored message, since nothing new is broadcast.
//
// Absence is checked without timing: after the frame that must not arrive, a chat message is
// sent, and the next frame a socket receives must be that message.
import assert from "node:assert/strict";
import { LIMITS } from "@/lib/limits.ts";
import {
  api,
  createRoom,
  engines,
  expectChat,
  join,
  newSession,
  person,
  startTestServer,
} from "../fixtures/mod.ts";

engines.test("ws: three sends with one client_id store one message; the broadcast echoes client_id and each retry is acknowledged to its sender alone", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  const b = await person(srv);
  const room = await createRoom(srv, a);
  await using sa = await join(srv, a, room.id);
  // The same person in another tab: a retry's answer is for the retrying connection only.
  await using sa2 = await join(srv, await newSession(srv, a), room.id);
  await using sb = await join(srv, b, room.id);

  for (let i = 0; i < 3; i++) sa.send({ content: "only once", client_id: "c-1" });
  const first = await sa.nextJson();
  assert.equal(first.content, "only once");
  assert.equal(first.client_id, "c-1");
  assert.deepEqual(Object.keys(first).sort(), ["client_id", "content", "created_at", "id", "user"]);
  // Both retries are answered with the stored message, exactly as it was broadcast.
  assert.deepEqual(await sa.nextJson(), first);
  assert.deepEqual(await sa.nextJson(), first);
  // Everyone else heard it once.
  assert.deepEqual(await sa2.nextJson(), first);
  assert.deepEqual(await sb.nextJson(), first);

  sb.say("sentinel");
  for (const socket of [sa, sa2, sb]) {
    const next = await expectChat(socket, "sentinel");
    assert.equal("client_id" in next, false, "a message sent without client_id carries none");
  }
  const rest = await api(srv, "GET", `/api/rooms/${room.id}/messages/`, { token: a.access });
  assert.equal(rest.body[0].id, first.id);
  assert.deepEqual(rest.body.map((m: { content: string }) => m.content), ["only once", "sentinel"]);
});

engines.test("ws: a retry on a new connection (after a reconnect) is answered there with the stored message, whatever content it carries", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  const b = await person(srv);
  const room = await createRoom(srv, a);
  await using sb = await join(srv, b, room.id);
  let stored;
  {
    await using before = await join(srv, a, room.id);
    before.send({ content: "sent before the drop", client_id: "retry-me" });
    stored = await before.nextJson();
  }
  assert.deepEqual(await sb.nextJson(), stored);

  await using after = await join(srv, a, room.id);
  after.send({ content: "sent before the drop (edited)", client_id: "retry-me" });
  assert.deepEqual(await after.nextJson(), stored);

  after.say("sentinel");
  await expectChat(after, "sentinel");
  await expectChat(sb, "sentinel");
  const rest = await api(srv, "GET", `/api/rooms/${room.id}/messages/`, { token: b.access });
  assert.deepEqual(rest.body.map((m: { content: string }) => m.content), [
    "sent before the drop",
    "sentinel",
  ]);
});

engines.test("ws: a client_id is the sender's own: two people using the same one send two messages", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  const b = await person(srv);
  const room = await createRoom(srv, a);
  await using sa = await join(srv, a, room.id);
  await using sb = await join(srv, b, room.id);
  sa.send({ content: "from a", client_id: "shared" });
  const fromA = await sa.nextJson();
  assert.deepEqual(await sb.nextJson(), fromA);
  sb.send({ content: "from b", client_id: "shared" });
  const fromB = await sb.nextJson();
  assert.deepEqual(await sa.nextJson(), fromB);
  assert.notEqual(fromA.id, fromB.id);
  assert.deepEqual([fromA.client_id, fromB.client_id], ["shared", "shared"]);
});

engines.test("ws: a client_id of LIMITS.clientId characters is accepted and echoed; one already used in another room is dropped", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  const room = await createRoom(srv, a);
  const other = await createRoom(srv, a, { name: "Other" });
  await using sa = await join(srv, a, room.id);
  await using elsewhere = await join(srv, a, other.id);

  const longest = "k".repeat(LIMITS.clientId);
  sa.send({ content: "longest id", client_id: longest });
  assert.equal((await expectChat(sa, "longest id")).client_id, longest);

  // The same id in another room is not a retry of this message: refused, nothing stored.
  elsewhere.send({ content: "reused id", client_id: longest });
  elsewhere.say("sentinel");
  await expectChat(elsewhere, "sentinel");
  const rest = await api(srv, "GET", `/api/rooms/${other.id}/messages/`, { token: a.access });
  assert.deepEqual(rest.body.map((m: { content: string }) => m.content), ["sentinel"]);
});
