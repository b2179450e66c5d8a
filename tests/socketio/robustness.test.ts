// Clients that misbehave: silent ones (heartbeat), broken ones (malformed packets), greedy ones
// (maxPayload), slow ones (maxBufferedBytes). Each is cut off; the others keep working.
import assert from "node:assert/strict";
import {
  type Ack,
  connected,
  connectedOver,
  delay,
  type Harness,
  nextConnection,
  once,
  type Socket,
  startIo,
  transportOptions,
  waitFor,
} from "../fixtures/mod.ts";

/** A healthy official client and its server socket, to show it is unaffected. */
async function healthyClient(h: Harness, transport: "polling" | "websocket" = "websocket") {
  const serverSocket = nextConnection(h.io);
  const client = h.client("/", transportOptions(transport));
  await connectedOver(client, transport);
  const socket = await serverSocket;
  let reason: string | undefined;
  socket.on("disconnect", (why: string) => reason = why);
  return { client, socket, disconnectReason: () => reason };
}

function echoServer(h: Harness): void {
  h.io.on("connection", (socket) => socket.on("echo", (value: unknown, ack: Ack) => ack(value)));
}

// --- heartbeat ----------------------------------------------------------------------------------

Deno.test('a raw WebSocket client that stops answering pings is disconnected with "ping timeout" in time', async () => {
  const pingInterval = 300;
  const pingTimeout = 200;
  await using h = startIo({ pingInterval, pingTimeout });
  const serverSocket = nextConnection(h.io);
  const raw = h.rawWs();
  raw.autoPong = false;
  await raw.join();
  const start = Date.now();
  const socket = await serverSocket;
  const [reason] = await once<[string]>(socket, "disconnect", 3000);
  const elapsed = Date.now() - start;
  assert.equal(reason, "ping timeout");
  assert.ok(raw.received.includes("2"), "the server pinged");
  assert.ok(elapsed <= pingInterval + pingTimeout + 500, `detected after ${elapsed} ms`);
  assert.ok(elapsed >= pingInterval, `not before a ping was due (${elapsed} ms)`);
  await raw.closed;
  assert.equal(h.io.engine.sessions.size, 0);
});

Deno.test('a raw polling client that stops polling is disconnected with "ping timeout" in time', async () => {
  const pingInterval = 300;
  const pingTimeout = 200;
  await using h = startIo({ pingInterval, pingTimeout });
  const serverSocket = nextConnection(h.io);
  const polling = await h.rawPolling();
  await polling.post("40");
  const start = Date.now();
  const socket = await serverSocket;
  const reply = await polling.get();
  assert.ok(reply.packets[0].startsWith("40{"));
  const [reason] = await once<[string]>(socket, "disconnect", 3000);
  const elapsed = Date.now() - start;
  assert.equal(reason, "ping timeout");
  assert.ok(elapsed <= pingInterval + pingTimeout + 500, `detected after ${elapsed} ms`);
  assert.equal((await polling.get()).status, 400, "the session is gone");
});

for (const transport of ["polling", "websocket"] as const) {
  Deno.test(`an official client over ${transport} answers pings and stays connected across many intervals`, async () => {
    await using h = startIo({ pingInterval: 100, pingTimeout: 200 });
    echoServer(h);
    const { client, disconnectReason } = await healthyClient(h, transport);
    let pings = 0;
    client.io.on("ping", () => pings++);
    await delay(800);
    assert.ok(pings >= 4, `${pings} pings`);
    assert.equal(client.connected, true);
    assert.equal(disconnectReason(), undefined);
    assert.equal(await client.emitWithAck("echo", "alive"), "alive");
  });
}

Deno.test("a connection that joins no namespace within connectTimeout is closed", async () => {
  await using h = startIo({ connectTimeout: 200 });
  const polling = await h.rawPolling();
  const start = Date.now();
  const { status, packets } = await polling.get();
  assert.equal(status, 200);
  assert.deepEqual(packets, ["1"], "a close packet");
  assert.ok(Date.now() - start <= 200 + 1000);
  assert.equal(h.io.engine.sessions.size, 0);
});

// --- malformed packets --------------------------------------------------------------------------

const MALFORMED: [string, string[]][] = [
  ["bad JSON", ["42{bad"]],
  ["an event without a name", ["42[]"]],
  ["a reserved event name", ['42["disconnect"]']],
  ["an unknown Socket.IO packet type", ["49"]],
  ["a packet for a namespace it has not joined", ['42/elsewhere,["x"]']],
  ["an unknown Engine.IO packet type", ["x"]],
  ["text where a binary attachment was announced", [
    '451-["file",{"_placeholder":true,"num":0}]',
    '42["x"]',
  ]],
];

Deno.test("a raw WebSocket client sending a malformed packet is closed; another client keeps exchanging events", async (t) => {
  await using h = startIo();
  echoServer(h);
  const healthy = await healthyClient(h);
  for (const [name, frames] of MALFORMED) {
    await t.step(name, async () => {
      const serverSocket = nextConnection(h.io);
      const raw = h.rawWs();
      await raw.join();
      const socket = await serverSocket;
      const gone = once<[string]>(socket, "disconnect");
      for (const frame of frames) raw.send(frame);
      assert.deepEqual(await gone, ["parse error"]);
      await raw.closed;
      assert.equal(await healthy.client.emitWithAck("echo", name), name);
      assert.deepEqual([...h.io.of("/").sockets.keys()], [healthy.client.id]);
    });
  }
  assert.equal(healthy.disconnectReason(), undefined);
  assert.equal(h.io.engine.sessions.size, 1);
});

Deno.test("a raw polling client posting a malformed packet is closed; another client keeps exchanging events", async () => {
  await using h = startIo();
  echoServer(h);
  const healthy = await healthyClient(h, "polling");
  const serverSocket = nextConnection(h.io);
  const polling = await h.rawPolling();
  await polling.post("40");
  const socket = await serverSocket;
  assert.ok((await polling.get()).packets[0].startsWith("40{"));
  const gone = once<[string]>(socket, "disconnect");
  await polling.post("42{bad");
  assert.deepEqual(await gone, ["parse error"]);
  assert.equal((await polling.get()).status, 400, "the session is gone");
  assert.equal(await healthy.client.emitWithAck("echo", "fine"), "fine");
  assert.equal(healthy.disconnectReason(), undefined);
});

// --- maxPayload ---------------------------------------------------------------------------------

for (const transport of ["websocket", "polling"] as const) {
  Deno.test(`over ${transport}, a message larger than maxPayload closes that client only`, async () => {
    await using h = startIo({ maxPayload: 10_000 });
    echoServer(h);
    const healthy = await healthyClient(h);
    const { client: greedy, socket } = await healthyClient(h, transport);
    const serverGone = once<[string]>(socket, "disconnect");
    const clientGone = once<[string]>(greedy, "disconnect");
    // Under the limit is fine.
    assert.equal((await greedy.emitWithAck("echo", "y".repeat(9_000))).length, 9_000);
    greedy.emit("echo", "x".repeat(20_000));
    assert.deepEqual(await serverGone, ["transport error"]);
    const [clientReason] = await clientGone;
    assert.match(clientReason, /^transport (close|error)$/);
    assert.equal(await healthy.client.emitWithAck("echo", "small"), "small");
    assert.equal(healthy.disconnectReason(), undefined);
    assert.deepEqual([...h.io.of("/").sockets.keys()], [healthy.client.id]);
  });
}

// --- slow consumers -----------------------------------------------------------------------------

Deno.test('a polling client that never polls while big events pile up is disconnected as "slow consumer"; others get everything', async () => {
  await using h = startIo({ maxBufferedBytes: 64 * 1024 });
  const viaWebSocket = await healthyClient(h, "websocket");
  const viaPolling = await healthyClient(h, "polling");
  const counts = [0, 0];
  viaWebSocket.client.on("big", () => counts[0]++);
  viaPolling.client.on("big", () => counts[1]++);

  const serverSocket = nextConnection(h.io);
  const slow = await h.rawPolling();
  await slow.post("40");
  const slowSocket: Socket = await serverSocket;
  assert.ok((await slow.get()).packets[0].startsWith("40{"));
  let slowReason: string | undefined;
  slowSocket.on("disconnect", (reason: string) => slowReason = reason);

  // 40 events of 4 KiB, 160 KiB in all, spaced so that clients that read keep up.
  const chunk = "z".repeat(4096);
  for (let i = 0; i < 40; i++) {
    h.io.emit("big", i, chunk);
    await delay(10);
  }
  await waitFor(() => counts[0] === 40 && counts[1] === 40, {
    ms: 5000,
    what: "every event at the others",
  });
  assert.equal(slowReason, "slow consumer");
  assert.equal(slowSocket.connected, false);
  assert.equal(viaWebSocket.disconnectReason(), undefined);
  assert.equal(viaPolling.disconnectReason(), undefined);
  assert.equal(viaWebSocket.client.connected && viaPolling.client.connected, true);
  assert.equal(h.io.of("/").sockets.size, 2);
  assert.equal((await slow.get()).status, 400, "the slow session is gone");
});

Deno.test("a client can reconnect after being cut off", async () => {
  await using h = startIo({ maxPayload: 10_000 });
  echoServer(h);
  const client = h.client("/", { transports: ["polling"] });
  await connected(client);
  const gone = once(client, "disconnect");
  client.emit("echo", "x".repeat(20_000));
  await gone;
  client.connect();
  await connected(client);
  assert.equal(await client.emitWithAck("echo", "back"), "back");
});

// --- write coalescing ---------------------------------------------------------------------------

Deno.test("over polling, packets sent in one tick leave together in the pending GET's response", async () => {
  await using h = startIo();
  const serverSocket = nextConnection(h.io);
  const polling = await h.rawPolling();
  await polling.post("40");
  const socket = await serverSocket;
  assert.ok((await polling.get()).packets[0].startsWith("40{"));
  const pending = polling.get();
  await waitFor(() => socket.conn.writable);
  socket.emit("a", 1);
  socket.emit("b", 2);
  socket.emit("c", 3);
  const { status, packets } = await pending;
  assert.equal(status, 200);
  assert.deepEqual(packets, ['42["a",1]', '42["b",2]', '42["c",3]']);
});
