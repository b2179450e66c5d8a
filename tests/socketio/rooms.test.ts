// Rooms and broadcasts with the official client: who gets what, fetchSockets, socketsJoin and
// socketsLeave, disconnectSockets, volatile emits, and an adapter left empty after many sockets.
import assert from "node:assert/strict";
import {
  type ClientSocket,
  connected,
  connectedOver,
  connectError,
  type Harness,
  once,
  type Socket,
  startIo,
  waitFor,
} from "../fixtures/mod.ts";

async function clients(h: Harness, n: number): Promise<ClientSocket[]> {
  const all = Array.from({ length: n }, () => h.client());
  await Promise.all(all.map((client) => connected(client)));
  return all;
}

/** The server side of a connected client (same id). */
function serverSide(h: Harness, client: ClientSocket): Socket {
  const socket = h.io.of("/").sockets.get(client.id!);
  assert.ok(socket, `no server socket for ${client.id}`);
  return socket;
}

/**
 * What each client receives from `send()`: events are recorded until an "end" broadcast to
 * everyone arrives, so a missing event really was not sent (delivery is in order).
 */
async function received(
  h: Harness,
  all: ClientSocket[],
  send: () => void | Promise<void>,
): Promise<unknown[][][]> {
  const seen = all.map(() => [] as unknown[][]);
  const listeners = all.map((client, i) => {
    const listener = (event: string, ...args: unknown[]) => {
      if (event !== "end") seen[i].push([event, ...args]);
    };
    client.onAny(listener);
    return listener;
  });
  const ends = all.map((client) => once(client, "end"));
  await send();
  h.io.emit("end");
  await Promise.all(ends);
  all.forEach((client, i) => client.offAny(listeners[i]));
  return seen;
}

Deno.test("io.to(room).emit reaches only the room's members", async () => {
  await using h = startIo();
  const [a, b, c] = await clients(h, 3);
  serverSide(h, a).join("red");
  serverSide(h, b).join("red");
  serverSide(h, c).join("blue");
  const seen = await received(h, [a, b, c], () => {
    h.io.to("red").emit("news", "for red");
  });
  assert.deepEqual(seen, [[["news", "for red"]], [["news", "for red"]], []]);
  assert.deepEqual([...h.io.of("/").adapter.rooms.get("red")!].sort(), [a.id, b.id].sort());
});

Deno.test("socket.to(room).emit reaches the other members of the room, not the sender", async () => {
  await using h = startIo();
  h.io.on("connection", (socket) => {
    socket.join("chat");
    socket.on("say", (text: string) => socket.to("chat").emit("said", socket.id, text));
  });
  const [a, b, c] = await clients(h, 3);
  const outsider = h.client();
  await connected(outsider);
  serverSide(h, outsider).leave("chat");
  const seen = await received(h, [a, b, c, outsider], async () => {
    a.emit("say", "hello");
    await once(b, "said");
  });
  assert.deepEqual(seen, [[], [["said", a.id, "hello"]], [["said", a.id, "hello"]], []]);
});

Deno.test('io.to("a").except("b").emit skips the members of b', async () => {
  await using h = startIo();
  const [onlyA, both, onlyB, none] = await clients(h, 4);
  serverSide(h, onlyA).join("a");
  serverSide(h, both).join(["a", "b"]);
  serverSide(h, onlyB).join("b");
  const seen = await received(h, [onlyA, both, onlyB, none], () => {
    h.io.to("a").except("b").emit("m", 1);
    h.io.except("a").emit("not-a", 2);
  });
  assert.deepEqual(seen, [[["m", 1]], [], [["not-a", 2]], [["not-a", 2]]]);
});

Deno.test("io.except(socketId).emit reaches everyone but that socket", async () => {
  await using h = startIo();
  const [a, b, c] = await clients(h, 3);
  const seen = await received(h, [a, b, c], () => {
    h.io.except(b.id!).emit("m", "not b");
    h.io.to(c.id!).emit("private", "only c");
  });
  assert.deepEqual(seen, [[["m", "not b"]], [], [["m", "not b"], ["private", "only c"]]]);
});

Deno.test("a socket in several of the target rooms gets one copy", async () => {
  await using h = startIo();
  const [a, b, c] = await clients(h, 3);
  serverSide(h, a).join(["x", "y", "z"]);
  serverSide(h, b).join("y");
  const seen = await received(h, [a, b, c], () => {
    h.io.to(["x", "y"]).emit("one", 1);
    h.io.to("x").to("y").to("z").emit("two", 2);
    h.io.in(["x", "y", "z", a.id!]).emit("three", 3);
  });
  assert.deepEqual(seen, [
    [["one", 1], ["two", 2], ["three", 3]],
    [["one", 1], ["two", 2], ["three", 3]],
    [],
  ]);
});

Deno.test("io.fetchSockets() lists every socket and io.in(room).fetchSockets() the room's", async () => {
  await using h = startIo();
  h.io.on("connection", (socket) => {
    socket.data.name = `user-${socket.handshake.auth.n}`;
  });
  const all = Array.from({ length: 4 }, (_, n) => h.client("/", { auth: { n } }));
  await Promise.all(all.map((client) => connected(client)));
  serverSide(h, all[1]).join("vip");
  serverSide(h, all[3]).join("vip");

  const everyone = await h.io.fetchSockets();
  assert.deepEqual(everyone.map((s) => s.id).sort(), all.map((c) => c.id).sort());
  const vip = await h.io.in("vip").fetchSockets();
  assert.deepEqual(vip.map((s) => s.id).sort(), [all[1].id, all[3].id].sort());
  assert.deepEqual(
    vip.map((s) => (s.data as Record<string, unknown>).name).sort(),
    ["user-1", "user-3"],
  );
  for (const socket of vip) assert.ok(socket.rooms.has("vip"));
  assert.deepEqual(await h.io.in("nobody-here").fetchSockets(), []);
  assert.equal((await h.io.except("vip").fetchSockets()).length, 2);

  // What fetchSockets returns can be acted on.
  const hello = once(all[1], "hello");
  vip.find((s) => s.id === all[1].id)!.emit("hello", "from fetchSockets");
  assert.deepEqual(await hello, ["from fetchSockets"]);
});

Deno.test("io.socketsJoin and io.socketsLeave change the rooms of the matching sockets", async () => {
  await using h = startIo();
  const [a, b, c] = await clients(h, 3);
  serverSide(h, a).join("red");
  serverSide(h, b).join("red");

  h.io.socketsJoin("everyone");
  for (const client of [a, b, c]) assert.ok(serverSide(h, client).rooms.has("everyone"));
  h.io.in("red").socketsJoin(["team", "squad"]);
  assert.deepEqual([...h.io.of("/").adapter.rooms.get("team")!].sort(), [a.id, b.id].sort());
  assert.equal(serverSide(h, c).rooms.has("team"), false);

  let seen = await received(h, [a, b, c], () => {
    h.io.to("everyone").emit("e");
    h.io.to("squad").emit("s");
  });
  assert.deepEqual(seen, [[["e"], ["s"]], [["e"], ["s"]], [["e"]]]);

  h.io.in(a.id!).socketsLeave("squad");
  h.io.socketsLeave("everyone");
  assert.equal(h.io.of("/").adapter.rooms.has("everyone"), false);
  assert.deepEqual([...serverSide(h, a).rooms].sort(), [a.id, "red", "team"].sort());
  seen = await received(h, [a, b, c], () => {
    h.io.to("everyone").emit("e");
    h.io.to("squad").emit("s");
  });
  assert.deepEqual(seen, [[], [["s"]], []]);
});

Deno.test('io.in(room).disconnectSockets() disconnects only the room\'s members with "io server disconnect"', async () => {
  await using h = startIo();
  const [a, b, c] = await clients(h, 3);
  const serverReasons: string[] = [];
  for (const client of [a, b]) {
    const socket = serverSide(h, client);
    socket.join("doomed");
    socket.on("disconnect", (reason: string) => serverReasons.push(reason));
  }
  const reasons = Promise.all([a, b].map((client) => once<[string]>(client, "disconnect")));
  h.io.in("doomed").disconnectSockets();
  assert.deepEqual((await reasons).map(([reason]) => reason), [
    "io server disconnect",
    "io server disconnect",
  ]);
  assert.deepEqual(serverReasons, ["server namespace disconnect", "server namespace disconnect"]);
  assert.equal(h.io.of("/").adapter.rooms.has("doomed"), false);
  assert.deepEqual([...h.io.of("/").sockets.keys()], [c.id]);
  assert.equal(c.connected, true);
  const still = once(c, "still");
  h.io.emit("still", "here");
  assert.deepEqual(await still, ["here"]);
});

Deno.test("a volatile emit to a polling client with no pending GET never throws, and later events still arrive", async () => {
  await using h = startIo();
  const polling = await h.rawPolling();
  assert.equal(await polling.post("40"), 200);
  const first = await polling.get();
  assert.ok(first.packets[0].startsWith("40{"), first.packets.join(" | "));
  const sid = JSON.parse(first.packets[0].slice(2)).sid;
  h.io.of("/").sockets.get(sid)!.join("room");
  // A client that can write right now (an open WebSocket) gets volatile events.
  const ws = h.client();
  await connectedOver(ws, "websocket");
  const wsSocket = serverSide(h, ws);
  await waitFor(() => wsSocket.conn.transport === "websocket", {
    ms: 2000,
    what: "the server-side upgrade",
  });
  wsSocket.join("room");

  // The polling client has no GET waiting: its volatile events may be dropped.
  const wsGot = once(ws, "v");
  assert.doesNotThrow(() => h.io.volatile.emit("v", 1));
  assert.doesNotThrow(() => h.io.to("room").volatile.emit("v", 2));
  assert.deepEqual(await wsGot, [1]);
  h.io.emit("n", 3);
  const next = await polling.get();
  assert.equal(next.status, 200);
  assert.ok(next.packets.includes('42["n",3]'), next.packets.join(" | "));
  for (const v of ['42["v",1]', '42["v",2]']) {
    assert.ok(next.packets.filter((p) => p === v).length <= 1);
  }
  assert.ok(h.io.of("/").sockets.has(sid), "the polling socket is still connected");
});

Deno.test("every way a socket ends leaves the adapter, the namespace and the engine empty", async () => {
  await using h = startIo();
  h.io.use((socket, next) => next(socket.handshake.auth.refuse ? new Error("refused") : undefined));
  h.io.on("connection", (socket) => socket.join(["shared", `own-${socket.id}`]));
  const [byClient, byServer, byServerClose, byTransport, byServerIo] = await clients(h, 5);
  const refused = h.client("/", { auth: { refuse: true } });
  await connectError(refused);
  refused.disconnect();
  assert.equal(h.io.of("/").sockets.size, 5);

  byClient.disconnect();
  serverSide(h, byServer).disconnect();
  serverSide(h, byServerClose).disconnect(true);
  byTransport.io.engine.close();
  h.io.in(byServerIo.id!).disconnectSockets(true);
  const { adapter, sockets } = h.io.of("/");
  await waitFor(
    () =>
      adapter.rooms.size === 0 && adapter.sids.size === 0 && sockets.size === 0 &&
      h.io.engine.sessions.size === 0,
    { ms: 3000, what: "an empty adapter" },
  );
});

Deno.test("1000 raw sockets in rooms: broadcasts reach their rooms, and once closed the adapter is empty", async () => {
  await using h = startIo();
  h.io.on("connection", (socket) => {
    socket.join([`r${Number(socket.handshake.query.i) % 10}`, "all"]);
  });
  const raws = [];
  // In batches, so the test does not depend on a large listen backlog.
  for (let batch = 0; batch < 10; batch++) {
    const opened = Array.from({ length: 100 }, (_, j) => h.rawWs(`&i=${batch * 100 + j}`));
    await Promise.all(opened.map((raw) => raw.join()));
    raws.push(...opened);
  }
  const { adapter, sockets } = h.io.of("/");
  assert.equal(sockets.size, 1000);
  assert.equal(adapter.rooms.get("all")?.size, 1000);
  for (let r = 0; r < 10; r++) assert.equal(adapter.rooms.get(`r${r}`)?.size, 100);
  assert.equal(adapter.rooms.size, 1000 + 11);

  h.io.to("r3").emit("x", 3);
  h.io.emit("done");
  await Promise.all(raws.map((raw) => raw.message((m) => m === '42["done"]')));
  const got = raws.flatMap((raw, i) => raw.received.includes('42["x",3]') ? [i] : []);
  assert.equal(got.length, 100);
  assert.ok(got.every((i) => i % 10 === 3));

  await Promise.all(raws.map((raw) => raw.close()));
  await waitFor(
    () =>
      adapter.rooms.size === 0 && adapter.sids.size === 0 && sockets.size === 0 &&
      h.io.engine.sessions.size === 0,
    { ms: 10_000, what: "an empty adapter after 1000 sockets closed" },
  );
});
