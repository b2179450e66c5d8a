// Two of our SocketServers with redisAdapter() on one Redis: what one node asks of the
// cluster reaches the other's sockets, and each node still serves its own when it is alone.
import assert from "node:assert/strict";
import { type RedisAdapter, redisAdapter } from "@/realtime/socketio/mod.ts";
import {
  connected,
  type Harness,
  ignoreWithoutRedis,
  once,
  record,
  startIo,
  startRedis,
  waitFor,
} from "../fixtures/mod.ts";

const NAME = "redisAdapter between two of our nodes";
const ignore = ignoreWithoutRedis(NAME);

function node(url: string, publishOnSpecificResponseChannel = false): Harness {
  const h = startIo({
    adapter: redisAdapter({ url, requestsTimeout: 2000, publishOnSpecificResponseChannel }),
  });
  h.io.on("connection", (socket) => {
    for (const room of socket.handshake.auth.rooms as string[] ?? []) socket.join(room);
  });
  return h;
}

const adapterOf = (h: Harness) => h.io.of("/").adapter as RedisAdapter;

Deno.test({
  name:
    `${NAME}: room broadcasts, remote sockets, socketsJoin/Leave, serverSideEmit and disconnectSockets`,
  ignore,
}, async () => {
  await using redis = await startRedis();
  await using a = node(redis.url);
  // B answers on the asking node's own response channel (v8's per-uid channel).
  await using b = node(redis.url, true);
  await Promise.all([adapterOf(a).ready(), adapterOf(b).ready()]);
  await waitFor(async () => (await adapterOf(a).serverCount()) === 2);
  const onA = a.client("/", { auth: { rooms: ["x"] } });
  const onB = b.client("/", { auth: { rooms: ["x"] } });
  const otherOnB = b.client("/", { auth: { rooms: [] } });
  await Promise.all([onA, onB, otherOnB].map((c) => connected(c)));
  const seenB = record(onB);
  const seenOther = record(otherOnB);

  // A room broadcast from A: B's member gets it once, B's other socket does not.
  a.io.to("x").emit("hello", 1);
  a.io.except("x").emit("outside", 2);
  await waitFor(() => seenB.length === 1 && seenOther.length === 1);
  assert.deepEqual(seenB, [["hello", 1]]);
  assert.deepEqual(seenOther, [["outside", 2]]);

  // fetchSockets from A sees B's sockets; acting on one goes to B.
  const all = await a.io.fetchSockets();
  assert.deepEqual(all.map((s) => s.id).sort(), [onA.id, onB.id, otherOnB.id].sort());
  const remote = all.find((s) => s.id === otherOnB.id)!;
  assert.deepEqual([...remote.rooms], [otherOnB.id]);
  remote.join("y");
  await waitFor(() => b.io.of("/").adapter.rooms.get("y")?.has(otherOnB.id!) === true);
  assert.ok((await adapterOf(a).allRooms()).has("y"));
  a.io.in("y").socketsLeave("y");
  await waitFor(() => !b.io.of("/").adapter.rooms.has("y"));

  // serverSideEmit with an ack: B answers; without one nothing waits.
  b.io.on("ping", (n: number, ack: (v: number) => void) => ack(n + 1));
  assert.deepEqual(await a.io.serverSideEmitWithAck("ping", 41), [42]);

  // disconnectSockets from A ends B's sockets in the room.
  const gone = once(onB, "disconnect");
  a.io.in("x").disconnectSockets();
  await gone;
  assert.equal(otherOnB.connected, true);
});

Deno.test({ name: `${NAME}: different keys are different clusters`, ignore }, async () => {
  await using redis = await startRedis();
  await using a = startIo({ adapter: redisAdapter({ url: redis.url, key: "one" }) });
  await using b = startIo({ adapter: redisAdapter({ url: redis.url, key: "two" }) });
  await Promise.all([adapterOf(a).ready(), adapterOf(b).ready()]);
  assert.equal(await adapterOf(a).serverCount(), 1);
  assert.deepEqual(await a.io.serverSideEmitWithAck("anyone"), []);
});

Deno.test({
  name:
    `${NAME}: Redis restarted: no crash, each node keeps serving its own, delivery across resumes`,
  ignore,
}, async () => {
  await using redis = await startRedis();
  const errors: unknown[] = [];
  const adapter = () => redisAdapter({ url: redis.url, onError: (e) => errors.push(e) });
  await using a = startIo({ adapter: adapter() });
  await using b = startIo({ adapter: adapter() });
  await Promise.all([adapterOf(a).ready(), adapterOf(b).ready()]);
  await waitFor(async () => (await adapterOf(a).serverCount()) === 2);
  const onA = a.client("/");
  const onB = b.client("/");
  await Promise.all([connected(onA), connected(onB)]);
  const seenA = record(onA);
  const seenB = record(onB);

  await redis.restart();
  // While it is back but maybe not yet reconnected: A's own clients get A's broadcasts at once.
  a.io.emit("local", 1);
  await waitFor(() => seenA.some((e) => e[0] === "local"));
  // Once both nodes are subscribed again, B's clients get A's broadcasts.
  await waitFor(async () => (await adapterOf(a).serverCount().catch(() => 0)) === 2, {
    ms: 15_000,
  });
  let n = 0;
  await waitFor(() => {
    a.io.emit("again", ++n);
    return seenB.some((e) => e[0] === "again");
  }, { ms: 15_000 });
  assert.ok(errors.length >= 1, "the outage was reported");
});
