// A socket's listeners, acks and data are kept in lean structures created on first use (one
// flat array of listeners, no ack map until an ack is awaited, no data object until read);
// they behave as socket.io's do.
import assert from "node:assert/strict";
import { type Ack, connected, nextConnection, startIo } from "../fixtures/mod.ts";

Deno.test("socket listeners run in the order added; once runs once; off removes one listener or every listener of an event", async () => {
  await using h = startIo();
  const serverSocket = nextConnection(h.io);
  const client = h.client();
  await connected(client);
  const socket = await serverSocket;
  const calls: string[] = [];
  const a = () => calls.push("a");
  const b = (n: number) => calls.push(`b${n}`);
  socket.on("e", a);
  socket.once("e", () => calls.push("once"));
  socket.on("e", b);
  socket.on("other", () => calls.push("other"));
  socket.on("sync", (ack: Ack) => ack());
  const sync = () => client.emitWithAck("sync");
  assert.equal(socket.listeners("e").length, 3);

  client.emit("e", 1);
  client.emit("e", 2);
  await sync();
  assert.deepEqual(calls.splice(0), ["a", "once", "b1", "a", "b2"]);
  assert.deepEqual(socket.listeners("e"), [a, b]);

  socket.off("e", a);
  client.emit("e", 3);
  client.emit("other");
  await sync();
  assert.deepEqual(calls.splice(0), ["b3", "other"]);

  socket.off("e");
  client.emit("e", 4);
  client.emit("other");
  await sync();
  assert.deepEqual(calls.splice(0), ["other"]);
  assert.deepEqual(socket.listeners("e"), []);
});

Deno.test("a socket's data starts empty, keeps what is set, and can be replaced", async () => {
  await using h = startIo();
  const serverSocket = nextConnection(h.io);
  const client = h.client();
  await connected(client);
  const socket = await serverSocket;
  assert.deepEqual(socket.data, {});
  socket.data.user = "ada";
  assert.deepEqual(socket.data, { user: "ada" });
  socket.data = { user: "grace" };
  assert.deepEqual(socket.data, { user: "grace" });
  const [fetched] = await h.io.fetchSockets();
  assert.deepEqual(fetched.data, { user: "grace" });
});

Deno.test("acks the server waits for are answered once each, several at a time", async () => {
  await using h = startIo();
  const serverSocket = nextConnection(h.io);
  const client = h.client();
  client.on("double", (n: number, ack: Ack) => ack(n * 2));
  await connected(client);
  const socket = await serverSocket;
  const replies = await Promise.all([1, 2, 3].map((n) => socket.emitWithAck("double", n)));
  assert.deepEqual(replies, [2, 4, 6]);
  assert.equal(await socket.timeout(2000).emitWithAck("double", 5), 10);
});
