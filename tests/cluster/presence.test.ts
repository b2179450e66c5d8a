// Presence over Redis in one process: two or three "nodes" (hub + presence each) on a
// redis-server of the test's own, with a short heartbeat. Online anywhere is online everywhere,
// presence.changed and room.left fire once per cluster-wide change, a node that goes silent stops
// counting within ttl + heartbeat, and a Redis that lost everything is told again.
import assert from "node:assert/strict";
import type { DomainEvent } from "@/lib/events.ts";
import type { Hub } from "@/realtime/hub.ts";
import {
  createRedisHub,
  createRedisLink,
  createRedisPresence,
  type RedisPresence,
} from "@/realtime/redis/mod.ts";
import {
  ignoreWithoutRedis,
  keepingLogger,
  startRedis,
  type TestRedis,
  waitFor,
} from "../fixtures/mod.ts";

const HEARTBEAT_MS = 100;
const TTL_MS = 400;

interface Node {
  hub: Hub;
  presence: RedisPresence;
  problem(): string | undefined;
  /** Every event its listeners heard on the topics it listens to. */
  heard: DomainEvent[];
  listen(topic: string): void;
  /** Stops gracefully: its users are taken back. */
  close(): Promise<void>;
  /** Goes silent at once, as a killed process: no goodbye, no more heartbeats. */
  die(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

async function node(redis: TestRedis, name: string): Promise<Node> {
  const log = keepingLogger();
  const link = createRedisLink({ url: redis.url, log, backoff: { first: 20, max: 200 } });
  const hub = createRedisHub({ link, nodeId: name, channel: "t:events", maxQueued: 1000, log });
  const presence = createRedisPresence({
    link,
    hub,
    nodeId: name,
    prefix: "t",
    heartbeatMs: HEARTBEAT_MS,
    ttlMs: TTL_MS,
    log,
  });
  const problem = () => hub.problem?.() ?? presence.problem();
  await waitFor(() => problem() === undefined, { what: `${name} ready` });
  const heard: DomainEvent[] = [];
  hub.subscribe("marker", (event) => heard.push(event));
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await presence.close();
    await hub.close();
    await link.close();
  };
  return {
    hub,
    presence,
    problem,
    heard,
    listen: (topic) => void hub.subscribe(topic, (event) => heard.push(event)),
    close,
    async die() {
      await link.close();
      await close();
    },
    [Symbol.asyncDispose]: close,
  };
}

const changes = (n: Node, userId: number) =>
  n.heard.filter((e) => e.type === "presence.changed" && e.userId === userId)
    .map((e) => (e as { online: boolean }).online);

/** Every node's queue is in order: once each hears every node's marker, all before it is in. */
async function settled(nodes: Node[]): Promise<void> {
  const tag = crypto.randomUUID();
  for (const [i, n] of nodes.entries()) {
    n.hub.publish("marker", { type: "session.revoked", userId: -1 - i, sessionId: tag });
  }
  const markers = (n: Node) =>
    n.heard.filter((e) => e.type === "session.revoked" && e.sessionId === tag).length;
  await waitFor(() => nodes.every((n) => markers(n) === nodes.length), { what: "markers" });
}

Deno.test({
  name:
    "a user online on any node is online on every node; presence.changed fires once per cluster-wide change",
  ignore: ignoreWithoutRedis("presence over redis"),
  async fn() {
    await using redis = await startRedis();
    await using a = await node(redis, "a");
    await using b = await node(redis, "b");
    a.listen("all");
    b.listen("all");
    const onA = a.presence.connect(1);
    // The node holding the connection knows at once.
    assert.ok(a.presence.isOnline(1));
    await waitFor(() => b.presence.isOnline(1), { what: "online on b" });
    assert.deepEqual(b.presence.onlineIds(), [1]);
    const onB = b.presence.connect(1);
    const secondOnB = b.presence.connect(1);
    onA();
    secondOnB();
    await settled([a, b]);
    assert.ok(a.presence.isOnline(1) && b.presence.isOnline(1));
    onB();
    await waitFor(() => !a.presence.isOnline(1) && !b.presence.isOnline(1), { what: "offline" });
    await settled([a, b]);
    assert.deepEqual(changes(a, 1), [true, false]);
    assert.deepEqual(changes(b, 1), [true, false]);
  },
});

Deno.test({
  name:
    "room presence spans nodes: room.joined for each connection, room.left once, after the last one anywhere",
  ignore: ignoreWithoutRedis("presence over redis"),
  async fn() {
    await using redis = await startRedis();
    await using a = await node(redis, "a");
    await using b = await node(redis, "b");
    a.listen("room:5");
    b.listen("room:5");
    const leaveA = a.presence.enterRoom(5, 1);
    // Room presence of other nodes comes with the next heartbeat's snapshot.
    await waitFor(() => b.presence.inRoom(5).includes(1), { what: "in room 5 seen from b" });
    const leaveB = b.presence.enterRoom(5, 1);
    leaveA();
    await settled([a, b]);
    assert.deepEqual(b.presence.inRoom(5), [1]);
    leaveB();
    await waitFor(() => b.heard.some((e) => e.type === "room.left"), { what: "room.left" });
    await settled([a, b]);
    for (const n of [a, b]) {
      assert.deepEqual(n.heard.filter((e) => e.type.startsWith("room.")).map((e) => e.type), [
        "room.joined",
        "room.joined",
        "room.left",
      ]);
    }
    await waitFor(() => a.presence.inRoom(5).length === 0, { what: "room 5 empty on a" });
  },
});

Deno.test({
  name: "a node that goes silent stops counting within ttl + heartbeat: its users go offline once",
  ignore: ignoreWithoutRedis("presence over redis"),
  async fn() {
    await using redis = await startRedis();
    await using a = await node(redis, "a");
    await using b = await node(redis, "b");
    const c = await node(redis, "c");
    a.listen("all");
    b.listen("all");
    c.presence.connect(3);
    const both = a.presence.connect(4);
    c.presence.connect(4);
    await waitFor(() => a.presence.isOnline(3) && b.presence.isOnline(3), { what: "3 online" });
    // No goodbye: the link drops, the heartbeat stops; nothing is taken back by c.
    await c.die();
    // The documented bound (ttl + heartbeat), with room for a loaded machine.
    await waitFor(() => !a.presence.isOnline(3) && !b.presence.isOnline(3), {
      what: "3 offline",
      ms: TTL_MS + HEARTBEAT_MS + 2_000,
    });
    await settled([a, b]);
    assert.deepEqual(changes(a, 3), [true, false]);
    assert.deepEqual(changes(b, 3), [true, false]);
    // 4 is still connected on a: still online, and was never announced offline.
    assert.ok(b.presence.isOnline(4));
    assert.deepEqual(changes(b, 4), [true]);
    both();
  },
});

Deno.test({
  name:
    "a node stopping gracefully takes its users back at once; Redis restarted empty is told again",
  ignore: ignoreWithoutRedis("presence over redis"),
  async fn() {
    await using redis = await startRedis();
    await using a = await node(redis, "a");
    const b = await node(redis, "b");
    a.listen("all");
    a.presence.connect(1);
    b.presence.connect(2);
    await waitFor(() => a.presence.isOnline(2), { what: "2 online on a" });
    await b.close();
    await waitFor(() => !a.presence.isOnline(2), { what: "2 offline on a" });
    assert.deepEqual(changes(a, 2), [true, false]);

    await redis.stop();
    await waitFor(() => a.problem() !== undefined, { what: "a degraded" });
    // Connections keep counting locally while Redis is away.
    const later = a.presence.connect(5);
    assert.ok(a.presence.isOnline(5));
    await redis.start();
    await waitFor(() => a.problem() === undefined, { what: "a ready again", ms: 10_000 });
    await using c = await node(redis, "c");
    await waitFor(() => c.presence.isOnline(1) && c.presence.isOnline(5), {
      what: "a's users stated again to the empty Redis",
    });
    later();
    await waitFor(() => !c.presence.isOnline(5), { what: "5 offline on c" });
  },
});
