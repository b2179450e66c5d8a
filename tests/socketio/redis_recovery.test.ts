// Connection state recovery across nodes with the Redis recovery store: a client that drops from
// node A and comes back to node B within the window gets its id, rooms, data and the broadcasts
// it missed; what was trimmed or taken already is not resumed.
import assert from "node:assert/strict";
import { io as connect } from "socket.io-client";
import { redisRecoveryStore, type SocketServerOptions } from "@/realtime/socketio/mod.ts";
import {
  type ClientSocket,
  connected,
  type Harness,
  ignoreWithoutRedis,
  once,
  record,
  startIo,
  startRedis,
  waitFor,
} from "../fixtures/mod.ts";

const NAME = "recovery across nodes";
const ignore = ignoreWithoutRedis(NAME);

function node(redisUrl: string, maxEvents = 100): Harness {
  const options: SocketServerOptions = {
    connectionStateRecovery: {
      maxDisconnectionDuration: 5000,
      maxEvents,
      store: redisRecoveryStore({ url: redisUrl }),
    },
  };
  const h = startIo(options);
  h.io.on("connection", (socket) => {
    socket.on("sync", (ack: () => void) => ack());
    if (!socket.recovered) {
      socket.join("room1");
      socket.data.user = "ann";
    }
  });
  return h;
}

/** What the client would present on reconnecting: its private id and last offset. */
function resumeAuth(client: ClientSocket): { pid: string; offset?: string } {
  const state = client as unknown as { _pid: string; _lastOffset?: string };
  return { pid: state._pid, offset: state._lastOffset };
}

async function dropFrom(h: Harness, client: ClientSocket): Promise<void> {
  const server = h.io.of("/").sockets.get(client.id!)!;
  const gone = once(server, "disconnect");
  client.io.engine.close();
  await gone;
}

Deno.test({
  name:
    `${NAME}: a client dropped from A resumes on B with its id, rooms, data and the broadcasts it missed, in order`,
  ignore,
}, async () => {
  await using redis = await startRedis();
  await using a = node(redis.url);
  await using b = node(redis.url);
  const client = a.client("/");
  await connected(client);
  const before = record(client);
  a.io.to("room1").emit("news", 1, new Uint8Array([1]));
  await waitFor(() => before.length === 1);
  const firstId = client.id;
  await dropFrom(a, client);
  const auth = resumeAuth(client);
  assert.equal(typeof auth.offset, "string");

  // While it is away, A broadcasts: to its room, to everyone, and to a room it is not in.
  a.io.to("room1").emit("news", 2, new Uint8Array([2, 2]));
  a.io.emit("all", 3);
  a.io.to("elsewhere").emit("not-for-it", 4);

  const resumed = connect(b.url, { forceNew: true, reconnection: false, auth });
  try {
    const seen = record(resumed);
    await connected(resumed);
    // A new client object does not flag itself as recovered; the server says so.
    assert.equal(resumed.id, firstId, "same id");
    assert.equal(b.io.of("/").sockets.get(resumed.id!)?.recovered, true);
    await waitFor(() => seen.length === 2);
    assert.deepEqual(seen.map((e) => [e[0], e[1]]), [["news", 2], ["all", 3]]);
    const bytes = seen[0][2] as ArrayBuffer | Uint8Array;
    const view = bytes instanceof ArrayBuffer
      ? new Uint8Array(bytes)
      : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    assert.deepEqual([...view], [2, 2]);
    const socket = b.io.of("/").sockets.get(resumed.id!)!;
    assert.deepEqual(socket.data, { user: "ann" });
    assert.ok(socket.rooms.has("room1"), "its rooms came along");
    // B's own broadcasts reach it in its room from now on.
    b.io.to("room1").emit("news", 5);
    await waitFor(() => seen.length === 3);
  } finally {
    resumed.disconnect();
  }
});

Deno.test({
  name: `${NAME}: a state is resumed once, and not when the broadcasts it missed were trimmed`,
  ignore,
}, async () => {
  await using redis = await startRedis();
  await using a = node(redis.url, 2);
  await using b = node(redis.url, 2);
  const client = a.client("/");
  await connected(client);
  const seen = record(client);
  a.io.to("room1").emit("news", 0);
  await waitFor(() => seen.length === 1);
  await dropFrom(a, client);
  const auth = resumeAuth(client);
  // Three broadcasts while away, and the log keeps two: the first it missed is gone.
  for (const n of [1, 2, 3]) a.io.to("room1").emit("news", n);
  const late = connect(b.url, { forceNew: true, reconnection: false, auth });
  try {
    await connected(late);
    assert.notEqual(late.id, client.id, "a gap: it starts over");
  } finally {
    late.disconnect();
  }
  // The state was taken by that attempt: a second one with the same pid is not resumed.
  const again = connect(a.url, { forceNew: true, reconnection: false, auth });
  try {
    await connected(again);
    assert.notEqual(again.id, client.id);
  } finally {
    again.disconnect();
  }
});

Deno.test(
  { name: `${NAME}: dropSessions on one node forgets a state another node kept`, ignore },
  async () => {
    await using redis = await startRedis();
    await using a = node(redis.url);
    await using b = node(redis.url);
    const client = a.client("/");
    await connected(client);
    await dropFrom(a, client);
    const auth = resumeAuth(client);
    await waitFor(async () => (await redis.command("KEYS", "*session#*")).includes(auth.pid));
    const dropped = await b.io.of("/").adapter.dropSessions((state) =>
      (state.data as { user?: string }).user === "ann"
    );
    assert.equal(dropped, 1);
    const again = connect(b.url, { forceNew: true, reconnection: false, auth });
    try {
      await connected(again);
      assert.notEqual(again.id, client.id, "nothing to resume");
    } finally {
      again.disconnect();
    }
  },
);
