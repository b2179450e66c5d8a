// Connection state recovery under checks: the per-client opt-in (`optIn`), and middlewares that
// run on every recovery (`skipMiddlewares: false`), may refuse it or turn the state down with
// `socket.startFresh()`, and never open a gap in the replay.
import assert from "node:assert/strict";
import {
  type ClientSocket,
  connected,
  connectedOver,
  connectError,
  type Harness,
  once,
  record,
  type Socket,
  startIo,
  waitFor,
} from "../fixtures/mod.ts";

const WINDOW = 5000;

/** Closes the client's transport under it and waits until both sides saw the drop. */
async function drop(client: ClientSocket, serverSocket: Socket): Promise<void> {
  const serverGone = once(serverSocket, "disconnect");
  const clientGone = once(client, "disconnect");
  client.io.engine.close();
  await clientGone;
  await serverGone;
}

interface CheckedServer {
  h: Harness;
  connections: Socket[];
  /** What each middleware run saw: was it a recovery, and with which data. */
  runs: { recovered: boolean; data: Record<string, unknown> }[];
  /** While `hold` is set, middleware runs for recoveries wait for it; `held` counts them. */
  gate: { hold?: Promise<void>; held: number };
}

/**
 * A server whose middleware knows users by `auth.user`, refuses a missing one, and turns down
 * a recovery of another user's state.
 */
function checkedServer(): CheckedServer {
  const h = startIo({
    connectionStateRecovery: { maxDisconnectionDuration: WINDOW, skipMiddlewares: false },
  });
  const connections: Socket[] = [];
  const runs: CheckedServer["runs"] = [];
  const gate: CheckedServer["gate"] = { held: 0 };
  h.io.use(async (socket, next) => {
    runs.push({ recovered: socket.recovered, data: { ...socket.data } });
    if (socket.recovered && gate.hold) {
      gate.held++;
      await gate.hold;
    }
    const user = socket.handshake.auth.user;
    if (typeof user !== "string") return next(new Error("who are you?"));
    if (socket.recovered && socket.data.user !== user) socket.startFresh();
    socket.data.user = user;
    next();
  });
  h.io.on("connection", (socket) => {
    connections.push(socket);
    if (!socket.recovered) socket.join(`room:${socket.data.user}`);
  });
  return { h, connections, runs, gate };
}

Deno.test("with optIn, a client that did not opt in gets no pid and exactly the emitted arguments; one that did gets offsets and recovers", async () => {
  await using h = startIo({
    connectionStateRecovery: {
      maxDisconnectionDuration: WINDOW,
      optIn: (handshake) => handshake.auth.recover === true,
    },
  });
  const connections = new Map<string, Socket>();
  h.io.on("connection", (socket) => {
    connections.set(String(socket.handshake.auth.name), socket);
    socket.join("room1");
    socket.on("hello", () => socket.emit("welcome", "hello you"));
  });
  const plain = h.client("/", { auth: { name: "plain" } });
  const recovering = h.client("/", { auth: { name: "recovering", recover: true } });
  await connectedOver(plain, "websocket");
  await connectedOver(recovering, "websocket");
  assert.equal(connections.get("plain")!.pid, undefined);
  assert.equal(typeof connections.get("recovering")!.pid, "string");

  const plainSeen = record(plain);
  const recoveringSeen = record(recovering);
  h.io.to("room1").emit("news", "text", { n: 1 });
  const welcome = once(plain, "welcome");
  plain.emit("hello");
  await welcome;
  await waitFor(() => recoveringSeen.length === 1, { what: "the broadcast" });
  assert.deepEqual(plainSeen, [["news", "text", { n: 1 }], ["welcome", "hello you"]]);
  const [name, text, payload, offset] = recoveringSeen[0];
  assert.deepEqual([name, text, payload], ["news", "text", { n: 1 }]);
  assert.equal(typeof offset, "string");

  const plainId = plain.id;
  const recoveringId = recovering.id;
  await drop(plain, connections.get("plain")!);
  await drop(recovering, connections.get("recovering")!);
  h.io.to("room1").emit("missed", 2);
  plainSeen.length = recoveringSeen.length = 0;
  plain.connect();
  recovering.connect();
  await connected(plain);
  await connected(recovering);
  assert.ok(!plain.recovered);
  assert.notEqual(plain.id, plainId);
  assert.equal(recovering.recovered, true);
  assert.equal(recovering.id, recoveringId);
  await waitFor(() => recoveringSeen.length === 1, { what: "the missed broadcast" });
  assert.deepEqual(recoveringSeen[0].slice(0, 2), ["missed", 2]);
  assert.deepEqual(plainSeen, []);
});

Deno.test("a client that did not opt in is not recovered even when it presents a valid pid", async () => {
  await using h = startIo({
    connectionStateRecovery: {
      maxDisconnectionDuration: WINDOW,
      optIn: (handshake) => handshake.auth.recover === true,
    },
  });
  const connections: Socket[] = [];
  h.io.on("connection", (socket) => connections.push(socket));
  const client = h.client("/", { auth: { recover: true } });
  await connectedOver(client, "websocket");
  const { id, pid } = connections[0];
  await drop(client, connections[0]);

  const raw = h.rawWs();
  const sid = await raw.join("/", { pid });
  assert.notEqual(sid, id);
  assert.equal(connections[1].recovered, false);
  assert.equal(connections[1].pid, undefined);
});

Deno.test("with skipMiddlewares: false the middlewares see the state asked for, and a refusal leaves it for a later try", async () => {
  const { h, connections, runs } = checkedServer();
  await using _h = h;
  const client = h.client("/", { auth: { user: "ann" } });
  await connectedOver(client, "websocket");
  const id = client.id;
  h.io.to("room:ann").emit("news", 0);
  await once(client, "news");
  const seen = record(client);
  await drop(client, connections[0]);
  h.io.to("room:ann").emit("news", 1);

  client.auth = {};
  const refused = connectError(client);
  client.connect();
  assert.equal((await refused).message, "who are you?");
  client.auth = { user: "ann" };
  client.connect();
  await connected(client);
  assert.equal(client.recovered, true);
  assert.equal(client.id, id);
  await waitFor(() => seen.length === 1, { what: "the missed broadcast" });
  assert.deepEqual(seen[0].slice(0, 2), ["news", 1]);
  assert.deepEqual(runs, [
    { recovered: false, data: {} },
    { recovered: true, data: { user: "ann" } },
    { recovered: true, data: { user: "ann" } },
  ]);
  assert.deepEqual([...connections[1].rooms].sort(), [id, "room:ann"].sort());
});

Deno.test("a middleware's startFresh() turns another user's state down: new id and pid, no rooms, nothing replayed; the owner still recovers", async () => {
  const { h, connections } = checkedServer();
  await using _h = h;
  const owner = h.client("/", { auth: { user: "ann" } });
  await connectedOver(owner, "websocket");
  h.io.to("room:ann").emit("news", 0);
  const [, offset] = await once<[number, string]>(owner, "news");
  const { id, pid } = connections[0];
  await drop(owner, connections[0]);
  h.io.to("room:ann").emit("news", 1);

  const intruder = h.rawWs();
  const reply = JSON.parse(
    (await (async () => {
      await intruder.message((m) => m.startsWith("0{"));
      intruder.send(`40${JSON.stringify({ pid, offset, user: "mallory" })}`);
      return await intruder.message((m) => m.startsWith("40{"));
    })()).slice(2),
  );
  assert.notEqual(reply.sid, id);
  assert.notEqual(reply.pid, pid);
  const fresh = connections[1];
  assert.equal(fresh.recovered, false);
  assert.deepEqual(fresh.data, { user: "mallory" });
  assert.deepEqual([...fresh.rooms].sort(), [fresh.id, "room:mallory"].sort());
  // A marker sent after the CONNECT: a replay would have come between the two.
  h.io.to(fresh.id).emit("marker");
  await intruder.message((m) => m.startsWith('42["marker"'));
  const after = intruder.received.slice(
    intruder.received.findIndex((f) => typeof f === "string" && f.startsWith("40{")),
  );
  assert.equal(after.filter((f) => String(f).includes('"news"')).length, 0, String(after));

  owner.connect();
  await connected(owner);
  assert.equal(owner.recovered, true);
  assert.equal(owner.id, id);
});

Deno.test("broadcasts sent while a recovery's middlewares run are replayed too", async () => {
  const { h, connections, gate } = checkedServer();
  await using _h = h;
  const client = h.client("/", { auth: { user: "ann" } });
  await connectedOver(client, "websocket");
  const seen = record(client);
  await drop(client, connections[0]);
  h.io.to("room:ann").emit("news", "away");

  let release = () => {};
  gate.hold = new Promise((resolve) => release = resolve);
  const recovered = connected(client);
  client.connect();
  await waitFor(() => gate.held === 1, { what: "the recovery to reach the middleware" });
  h.io.to("room:ann").emit("news", "during");
  release();
  await recovered;
  assert.equal(client.recovered, true);
  await waitFor(() => seen.length === 2, { what: "both missed broadcasts" });
  assert.deepEqual(seen.map((e) => e.slice(0, 2)), [["news", "away"], ["news", "during"]]);
});
