// Connection state recovery with the official client: a client whose transport drops comes back
// with the same id, its rooms and data, and the broadcasts it missed; too late, it starts over.
import assert from "node:assert/strict";
import {
  type Ack,
  type ClientSocket,
  connected,
  connectedOver,
  delay,
  type Harness,
  once,
  record,
  type Socket,
  startIo,
  type Transport,
  transportOptions,
  waitFor,
} from "../fixtures/mod.ts";

const WINDOW = 2000;

interface RecoveryServer {
  h: Harness;
  /** Every server-side socket, in connection order. */
  connections: Socket[];
  /** How many times the middleware ran. */
  middlewareRuns: () => number;
}

function recoveryServer(): RecoveryServer {
  const h = startIo({ connectionStateRecovery: { maxDisconnectionDuration: WINDOW } });
  const connections: Socket[] = [];
  let runs = 0;
  h.io.use((_socket, next) => {
    runs++;
    next();
  });
  h.io.on("connection", (socket) => {
    connections.push(socket);
    // A round trip for absence checks: its answer comes after everything sent before it.
    socket.on("sync", (ack: Ack) => ack());
    if (!socket.recovered) {
      socket.join("room1");
      socket.data.user = "ann";
    }
  });
  return { h, connections, middlewareRuns: () => runs };
}

/** A client that reconnects by itself, quickly. */
function reconnectingClient(h: Harness, transport: Transport): ClientSocket {
  return h.client("/", {
    ...transportOptions(transport),
    reconnection: true,
    reconnectionDelay: 100,
    reconnectionDelayMax: 100,
  });
}

/** Closes the client's transport under it and waits until both sides saw the drop. */
async function drop(client: ClientSocket, serverSocket: Socket): Promise<string> {
  const serverGone = once<[string]>(serverSocket, "disconnect");
  const clientGone = once(client, "disconnect");
  client.io.engine.close();
  await clientGone;
  const [reason] = await serverGone;
  return reason;
}

/** Recorded events with the recovery offset (a string appended to each broadcast) removed. */
function payloads(seen: unknown[][]): unknown[][] {
  return seen.map((event) => {
    assert.equal(typeof event.at(-1), "string", `no offset on ${JSON.stringify(event)}`);
    return event.slice(0, -1);
  });
}

for (const transport of ["websocket", "polling"] as const) {
  Deno.test(`recovery over ${transport}: same id, rooms, data and the missed room broadcasts after the transport drops (twice)`, async () => {
    const { h, connections, middlewareRuns } = recoveryServer();
    await using _h = h;
    const client = reconnectingClient(h, transport);
    await connectedOver(client, transport);
    const id = client.id;
    const seen = record(client);
    h.io.to("room1").emit("news", 0);
    await waitFor(() => seen.length === 1, { ms: 2000, what: "the first broadcast" });
    assert.deepEqual(payloads(seen), [["news", 0]]);

    for (const round of [1, 2]) {
      seen.length = 0;
      const reason = await drop(client, connections.at(-1)!);
      assert.equal(reason, "transport close");
      assert.equal(client.connected, false);
      // Sent while the client is away.
      h.io.to("room1").emit("news", round * 10 + 1);
      h.io.to("elsewhere").emit("news", 99);
      h.io.to("room1").emit("news", round * 10 + 2);
      h.io.emit("all", { round });

      await once(client, "connect", 3000);
      assert.equal(client.id, id, `round ${round}: same id`);
      assert.equal(client.recovered, true, `round ${round}: client.recovered`);
      const socket = connections.at(-1)!;
      assert.equal(connections.length, round + 1);
      assert.equal(socket.recovered, true);
      assert.equal(socket.id, id);
      assert.deepEqual([...socket.rooms].sort(), [id, "room1"].sort());
      assert.deepEqual(socket.data, { user: "ann" });

      await waitFor(() => seen.length >= 3, { ms: 2000, what: "the missed broadcasts" });
      h.io.to("room1").emit("news", round * 10 + 3);
      await waitFor(() => seen.length >= 4, { ms: 2000, what: "a broadcast after recovery" });
      assert.deepEqual(payloads(seen), [
        ["news", round * 10 + 1],
        ["news", round * 10 + 2],
        ["all", { round }],
        ["news", round * 10 + 3],
      ]);
    }
    assert.equal(middlewareRuns(), 1, "middlewares are skipped on recovery by default");
    assert.equal(h.io.of("/").sockets.size, 1);
  });
}

Deno.test("recovery works for a client that received no event before it dropped", async () => {
  const { h, connections } = recoveryServer();
  await using _h = h;
  const client = reconnectingClient(h, "websocket");
  await connectedOver(client, "websocket");
  const id = client.id;
  const seen = record(client);
  await drop(client, connections[0]);
  assert.deepEqual(seen, [], "nothing was received before the drop");

  h.io.to("room1").emit("missed", 1);
  h.io.emit("missed", 2);
  h.io.to("elsewhere").emit("missed", 3);

  await once(client, "connect", 3000);
  assert.equal(client.id, id);
  assert.equal(client.recovered, true);
  assert.equal(connections.length, 2);
  assert.equal(connections[1].recovered, true);
  assert.deepEqual([...connections[1].rooms].sort(), [id, "room1"].sort());
  assert.deepEqual(connections[1].data, { user: "ann" });
  await waitFor(() => seen.length >= 2, { ms: 2000, what: "the missed broadcasts" });
  // The replay follows CONNECT at once, so the answer to a later request comes after all of it.
  await client.emitWithAck("sync");
  assert.deepEqual(payloads(seen), [["missed", 1], ["missed", 2]]);
});

Deno.test("a client that comes back after maxDisconnectionDuration is not recovered: new id, nothing replayed", async () => {
  const { h, connections } = recoveryServer();
  await using _h = h;
  const client = h.client("/", { reconnection: false });
  await connected(client);
  const id = client.id;
  h.io.to("room1").emit("news", 0);
  await once(client, "news");
  const seen = record(client);
  await drop(client, connections[0]);
  h.io.to("room1").emit("news", 1);

  await delay(WINDOW + 300);
  client.connect();
  await connected(client);
  assert.equal(client.recovered, false);
  assert.notEqual(client.id, id);
  assert.equal(connections.length, 2);
  assert.equal(connections[1].recovered, false);
  assert.notEqual(connections[1].id, id);
  h.io.emit("fresh", 2);
  await waitFor(() => seen.length >= 1, { ms: 2000, what: "a new broadcast" });
  assert.deepEqual(payloads(seen), [["fresh", 2]]);
});

Deno.test("a client whose last event was a direct socket.emit with a string argument still recovers", async () => {
  // The official client takes the last string argument of any event as its recovery offset, so
  // every event sent while recovery is on must carry one (socket.io stores socket.emit too).
  const { h, connections } = recoveryServer();
  await using _h = h;
  h.io.on("connection", (socket) => {
    socket.on("hello", () => socket.emit("welcome", "hello ann"));
  });
  const client = reconnectingClient(h, "websocket");
  await connectedOver(client, "websocket");
  const id = client.id;
  h.io.to("room1").emit("news", 0);
  await once(client, "news");
  const welcome = once(client, "welcome");
  client.emit("hello");
  assert.equal((await welcome)[0], "hello ann");
  const seen = record(client);

  await drop(client, connections[0]);
  h.io.to("room1").emit("news", 1);
  await once(client, "connect", 3000);
  assert.equal(client.recovered, true);
  assert.equal(client.id, id);
  await waitFor(() => seen.length >= 1, { ms: 2000, what: "the missed broadcast" });
  assert.deepEqual(payloads(seen), [["news", 1]]);
});

Deno.test("broadcasts to the socket's own id while it was away are replayed; except(id) ones are not", async () => {
  const { h, connections } = recoveryServer();
  await using _h = h;
  const client = reconnectingClient(h, "websocket");
  await connectedOver(client, "websocket");
  const id = client.id!;
  const seen = record(client);
  await drop(client, connections[0]);

  h.io.to(id).emit("private", 1);
  h.io.except(id).emit("not-for-you", 2);
  h.io.to("room1").emit("room", 3);
  await once(client, "connect", 3000);
  assert.equal(client.recovered, true);
  await waitFor(() => seen.length >= 2, { ms: 2000, what: "the missed broadcasts" });
  await client.emitWithAck("sync"); // after the whole replay, as above
  assert.deepEqual(payloads(seen), [["private", 1], ["room", 3]]);
});

Deno.test("a socket the server kicked with disconnect(true) is not recovered: middlewares run again when it returns", async () => {
  await using h = startIo({ connectionStateRecovery: { maxDisconnectionDuration: WINDOW } });
  const banned = new Set<unknown>();
  h.io.use((socket, next) => {
    next(banned.has(socket.handshake.auth.user) ? new Error("banned") : undefined);
  });
  const connections: Socket[] = [];
  h.io.on("connection", (socket) => {
    connections.push(socket);
    socket.join("members");
  });
  const client = h.client("/", { auth: { user: "mallory" } });
  await connectedOver(client, "websocket");

  await waitFor(() => connections[0].conn.transport === "websocket", {
    ms: 2000,
    what: "the upgrade",
  });
  banned.add("mallory");
  const gone = once<[string]>(client, "disconnect");
  connections[0].disconnect(true);
  assert.equal((await gone)[0], "io server disconnect");
  client.connect();
  const outcome = await connected(client).then(
    () => `connected (recovered: ${client.recovered})`,
    (err: Error) => err.message,
  );
  assert.equal(outcome, "banned");
  assert.equal(connections.length, 1);
});
