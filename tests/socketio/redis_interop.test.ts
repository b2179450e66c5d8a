// Our SocketServer with redisAdapter() and socket.io@4 on Node with the official
// @socket.io/redis-adapter share one Redis: broadcasts (binary included) and room broadcasts
// cross both ways, fetchSockets and serverSideEmit (with acks) see both servers, socketsJoin
// reaches the other side's sockets, and the official @socket.io/redis-emitter reaches ours.
import assert from "node:assert/strict";
import { io as connect } from "socket.io-client";
import { type RedisAdapter, redisAdapter } from "@/realtime/socketio/mod.ts";
import {
  bin,
  connected,
  ignoreWithoutNodeSocketio,
  ignoreWithoutRedis,
  record,
  startIo,
  startNodeSocketio,
  startRedis,
  waitFor,
} from "../fixtures/mod.ts";

const NAME = "our Redis adapter and socket.io's official one";
const ignore = ignoreWithoutRedis(NAME) || ignoreWithoutNodeSocketio(NAME);

/** The events a client recorded, by name. */
const named = (seen: unknown[][], event: string) => seen.filter((e) => e[0] === event);

/** Binary as it arrives in the Deno client: bytes as a plain array. */
function bytes(value: unknown): number[] {
  if (value instanceof ArrayBuffer) return [...new Uint8Array(value)];
  if (ArrayBuffer.isView(value)) {
    return [...new Uint8Array(value.buffer, value.byteOffset, value.byteLength)];
  }
  throw new Error(`not binary: ${JSON.stringify(value)}`);
}

Deno.test({
  name:
    `${NAME}: broadcasts (with acks too), rooms, fetchSockets, serverSideEmit and the emitter cross both ways`,
  ignore,
}, async () => {
  await using redis = await startRedis();
  await using node = await startNodeSocketio(redis.url);
  await using ours = startIo({ adapter: redisAdapter({ url: redis.url, requestsTimeout: 3000 }) });
  const adapter = ours.io.of("/").adapter as RedisAdapter;
  await adapter.ready();
  // Both servers listen: each is a subscriber of the request channel.
  await waitFor(async () => (await adapter.serverCount()) === 2);
  assert.equal(await node.run("count"), 2);

  ours.io.on("connection", (socket) => {
    socket.data.side = "deno";
    for (const room of socket.handshake.auth.rooms as string[] ?? []) socket.join(room);
  });
  const greeted: unknown[][] = [];
  ours.io.on("greet", (...args: unknown[]) => {
    const ack = typeof args.at(-1) === "function" ? args.pop() as (v: unknown) => void : undefined;
    greeted.push(args);
    ack?.({ from: "deno", got: args[0] });
  });

  const ourInRoom = ours.client("/", { auth: { rooms: ["r1"] } });
  const ourOther = ours.client("/", { auth: { rooms: [] } });
  // The Node server's clients: the same client library, another URL.
  const nodeA = connect(node.url, { forceNew: true, reconnection: false, auth: { rooms: ["r1"] } });
  const nodeB = connect(node.url, { forceNew: true, reconnection: false, auth: { rooms: [] } });
  try {
    await Promise.all([ourInRoom, ourOther, nodeA, nodeB].map((c) => connected(c)));
    const seen = {
      ourInRoom: record(ourInRoom),
      ourOther: record(ourOther),
      nodeA: record(nodeA),
      nodeB: record(nodeB),
    };

    // Ours → Node's clients, binary included.
    ours.io.emit("from-deno", "hi", new Uint8Array([1, 2, 3]));
    await waitFor(() => named(seen.nodeA, "from-deno").length === 1);
    await waitFor(() => named(seen.nodeB, "from-deno").length === 1);
    const [, text, data] = named(seen.nodeB, "from-deno")[0];
    assert.equal(text, "hi");
    assert.deepEqual(bytes(data), [1, 2, 3]);

    // Node → our clients, to one room, binary included: the room's member only.
    await node.run("emit", { rooms: ["r1"], event: "from-node", args: ["room", bin([9, 8])] });
    await waitFor(() => named(seen.ourInRoom, "from-node").length === 1);
    assert.deepEqual(bytes(named(seen.ourInRoom, "from-node")[0][2]), [9, 8]);
    // Ours to the room too: Node's member of r1 gets it, its other client does not.
    ours.io.to("r1").emit("room-deno", 1);
    await waitFor(() => named(seen.nodeA, "room-deno").length === 1);

    // The emitter (no server of its own) reaches our clients, everyone and a room.
    await node.run("emitter", { event: "from-emitter", args: ["all"] });
    await node.run("emitter", { rooms: ["r1"], event: "emitter-room", args: [bin([7])] });
    await waitFor(() => named(seen.ourOther, "from-emitter").length === 1);
    await waitFor(() => named(seen.ourInRoom, "emitter-room").length === 1);
    assert.deepEqual(bytes(named(seen.ourInRoom, "emitter-room")[0][1]), [7]);
    // Room broadcasts stayed in their rooms (these came later over the same Redis connection).
    assert.equal(named(seen.ourOther, "from-node").length, 0);
    assert.equal(named(seen.ourOther, "emitter-room").length, 0);
    assert.equal(named(seen.nodeB, "room-deno").length, 0);

    // fetchSockets from either side sees the sockets of both.
    const fromOurs = await ours.io.in("r1").fetchSockets();
    assert.deepEqual(
      fromOurs.map((s) => (s.data as { side: string }).side).sort(),
      ["deno", "node"],
    );
    const fromNode = await node.run("fetch", { rooms: ["r1"] }) as { id: string; data: unknown }[];
    assert.deepEqual(fromNode.map((s) => s.id).sort(), [ourInRoom.id, nodeA.id].sort());
    assert.ok(fromNode.some((s) => (s.data as { side: string }).side === "deno"));
    // A socket fetched from the other side can be told things through the adapter.
    const remote = fromOurs.find((s) => (s.data as { side: string }).side === "node")!;
    remote.emit("direct", "to-node-socket");
    await waitFor(() => named(seen.nodeA, "direct").length === 1);

    // socketsJoin from Node puts our socket in a room; a broadcast to it then arrives.
    await node.run("join", { target: ourOther.id, room: "late" });
    await waitFor(() => ours.io.of("/").adapter.rooms.get("late")?.has(ourOther.id!) === true);
    await node.run("emit", { rooms: ["late"], event: "late-news", args: [] });
    await waitFor(() => named(seen.ourOther, "late-news").length === 1);

    // serverSideEmit with acks, both ways: each gets the other's answer.
    const answers = await ours.io.serverSideEmitWithAck("greet", "from deno");
    assert.deepEqual(answers, [{ from: "node", got: "from deno" }]);
    await waitFor(() => node.seen.some((line) => line.event === "greet"));
    assert.deepEqual(await node.run("greet", { args: ["from node"] }), [
      { from: "deno", got: "from node" },
    ]);
    assert.deepEqual(greeted, [["from node"]]);

    // Broadcasts with acks, both ways: every client of both servers answers.
    for (
      const [client, name] of [[ourInRoom, "ours"], [ourOther, "ours"], [nodeA, "node"], [
        nodeB,
        "node",
      ]] as const
    ) {
      client.on("ask", (question: string, ack: (v: string) => void) => ack(`${name}:${question}`));
    }
    const fromDeno = await ours.io.timeout(3000).emitWithAck("ask", "q1");
    assert.deepEqual(fromDeno.sort(), ["node:q1", "node:q1", "ours:q1", "ours:q1"]);
    const inRoom = await ours.io.to("r1").timeout(3000).emitWithAck("ask", "q2");
    assert.deepEqual(inRoom.sort(), ["node:q2", "ours:q2"]);
    const fromNodeAcks = await node.run("ask", { event: "ask", args: ["q3"] }) as string[];
    assert.deepEqual(fromNodeAcks.sort(), ["node:q3", "node:q3", "ours:q3", "ours:q3"]);

    // allRooms: the rooms of both servers.
    const rooms = await adapter.allRooms();
    assert.ok(rooms.has("r1") && rooms.has("late") && rooms.has(nodeB.id!));
  } finally {
    nodeA.disconnect();
    nodeB.disconnect();
  }
});
