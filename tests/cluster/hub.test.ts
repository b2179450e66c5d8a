// The hub over Redis in one process: two hubs (two "nodes") on a redis-server of the test's own.
// Each event reaches each node once (the publisher's own echo is dropped), in the order a node
// published it across topics; Redis going away never stops local delivery and never makes a
// publisher wait; the outgoing queue is bounded; events the core makes survive the trip as they
// were.
import assert from "node:assert/strict";
import type { DomainEvent } from "@/lib/events.ts";
import { counterValue, createMetrics } from "@/lib/metrics.ts";
import type { Hub } from "@/realtime/hub.ts";
import { createRedisHub, createRedisLink, type RedisLink } from "@/realtime/redis/mod.ts";
import { jsonUnsafePaths } from "@/realtime/redis/envelope.ts";
import {
  ignoreWithoutRedis,
  keepingLogger,
  openTestCore,
  person,
  startRedis,
  startTcpProxy,
  waitFor,
} from "../fixtures/mod.ts";

interface Node {
  hub: Hub;
  link: RedisLink;
  metrics: ReturnType<typeof createMetrics>;
  log: ReturnType<typeof keepingLogger>;
  /** Everything its listeners heard, per topic subscribed with `hear`. */
  heard: { topic: string; event: DomainEvent }[];
  hear(topic: string): () => void;
  [Symbol.asyncDispose](): Promise<void>;
}

async function node(url: string, id: string, maxQueued = 1000): Promise<Node> {
  const log = keepingLogger();
  const metrics = createMetrics();
  const link = createRedisLink({ url, log, backoff: { first: 20, max: 200 } });
  const hub = createRedisHub({ link, nodeId: id, channel: "t:events", maxQueued, log, metrics });
  const heard: Node["heard"] = [];
  await waitFor(() => hub.problem?.() === undefined, { what: `${id} subscribed` });
  return {
    hub,
    link,
    metrics,
    log,
    heard,
    hear: (topic) => hub.subscribe(topic, (event, name) => heard.push({ topic: name, event })),
    async [Symbol.asyncDispose]() {
      await hub.close();
      await link.close();
    },
  };
}

const presence = (userId: number): DomainEvent => ({
  type: "presence.changed",
  userId,
  online: true,
});

const ids = (n: Node, topic: string) =>
  n.heard.filter((h) => h.topic === topic).map((h) => (h.event as { userId: number }).userId);

Deno.test({
  name:
    "an event reaches every node once: locally at once, elsewhere through Redis, never as its own echo",
  ignore: ignoreWithoutRedis("hub over redis"),
  async fn() {
    await using redis = await startRedis();
    await using a = await node(redis.url, "a");
    await using b = await node(redis.url, "b");
    a.hear("all");
    b.hear("all");
    a.hub.publish("all", presence(1));
    // Delivered on the publishing node before publish() returns, as with the in-memory hub.
    assert.deepEqual(ids(a, "all"), [1]);
    await waitFor(() => ids(b, "all").length === 1, { what: "b hearing 1" });
    // b answers after hearing it: Redis sent 1's echo to a before b's answer.
    b.hub.publish("all", presence(2));
    await waitFor(() => ids(a, "all").includes(2), { what: "a hearing 2" });
    assert.deepEqual(ids(a, "all"), [1, 2]);
    assert.deepEqual(ids(b, "all"), [1, 2]);
    assert.equal(await counterValue(a.metrics.hubRedis, { outcome: "echo" }), 1);
  },
});

Deno.test({
  name: "an event published to several topics is encoded once",
  ignore: ignoreWithoutRedis("hub over redis"),
  async fn() {
    await using redis = await startRedis();
    await using a = await node(redis.url, "a");
    await using b = await node(redis.url, "b");
    b.hear("all");
    b.hear("user:9");
    const event = presence(9);
    const stringify = JSON.stringify;
    let encoded = 0;
    JSON.stringify = ((value: unknown, ...rest: unknown[]) => {
      if (value === event) encoded++;
      return (stringify as (...args: unknown[]) => string)(value, ...rest);
    }) as typeof JSON.stringify;
    try {
      a.hub.publish("all", event);
      a.hub.publish("user:9", event);
    } finally {
      JSON.stringify = stringify;
    }
    assert.equal(encoded, 1);
    await waitFor(() => b.heard.length === 2, { what: "both topics on b" });
    assert.deepEqual(b.heard.map((h) => h.topic), ["all", "user:9"]);
  },
});

Deno.test({
  name: "a node keeps the order another node published in, across topics",
  ignore: ignoreWithoutRedis("hub over redis"),
  async fn() {
    await using redis = await startRedis();
    await using a = await node(redis.url, "a");
    await using b = await node(redis.url, "b");
    const order: string[] = [];
    // As the lounge socket does: hearing of a new room on the user's topic, b starts listening
    // to the room's topic, and the room's first message, published right after, reaches it.
    b.hub.subscribe("user:7", () => {
      order.push("user:7");
      b.hub.subscribe("room:42", () => order.push("room:42"));
    });
    for (let i = 0; i < 50; i++) a.hub.publish("noise", presence(i));
    a.hub.publish("user:7", presence(7));
    a.hub.publish("room:42", presence(7));
    await waitFor(() => order.length === 2, { what: "both events on b" });
    assert.deepEqual(order, ["user:7", "room:42"]);
    // Nobody on b listened to "noise": skipped before parsing.
    assert.equal(await counterValue(b.metrics.hubRedis, { outcome: "unheard" }), 50);
  },
});

Deno.test({
  name:
    "Redis restarted: local delivery goes on meanwhile, nothing waits, readiness says why, and delivery resumes",
  ignore: ignoreWithoutRedis("hub over redis"),
  async fn() {
    await using redis = await startRedis();
    await using a = await node(redis.url, "a");
    await using b = await node(redis.url, "b");
    a.hear("all");
    b.hear("all");
    await redis.stop();
    await waitFor(() => a.hub.problem?.() !== undefined, { what: "a noticing" });
    assert.match(a.hub.problem!()!, /redis/);
    // publish() returns at once and the node's own listeners hear it.
    a.hub.publish("all", presence(1));
    assert.deepEqual(ids(a, "all"), [1]);
    assert.ok(a.log.lines.some((l) => l.level === "warn" && l.msg === "redis unavailable"));
    await redis.start();
    await waitFor(() => a.hub.problem?.() === undefined && b.hub.problem?.() === undefined, {
      what: "both connected and subscribed again",
      ms: 10_000,
    });
    // b subscribed again by itself (1, sent by a as soon as it was back, may have gone out
    // before b was listening again: that is what the history is for).
    a.hub.publish("all", presence(2));
    await waitFor(() => ids(b, "all").includes(2), { what: "b hearing 2" });
    assert.ok(ids(b, "all").every((id) => id === 1 || id === 2));
    assert.ok(a.log.lines.some((l) => l.msg === "redis connected again"));
  },
});

Deno.test({
  name:
    "while a node cannot reach Redis its events wait in a bounded queue: the oldest are dropped and counted, the rest go in order",
  ignore: ignoreWithoutRedis("hub over redis"),
  async fn() {
    await using redis = await startRedis();
    using way = startTcpProxy(redis.port);
    await using a = await node(way.url, "a", 5);
    await using b = await node(redis.url, "b");
    b.hear("all");
    way.cut();
    await waitFor(() => !a.link.commands.isReady, { what: "a noticing" });
    for (let i = 1; i <= 8; i++) a.hub.publish("all", presence(i));
    assert.equal(await counterValue(a.metrics.hubRedis, { outcome: "dropped_queue_full" }), 3);
    way.restore();
    await waitFor(() => ids(b, "all").length === 5, { what: "the five kept", ms: 10_000 });
    assert.deepEqual(ids(b, "all"), [4, 5, 6, 7, 8]);
  },
});

Deno.test({
  name: "the events the core publishes are plain JSON and arrive on another node as they were",
  ignore: ignoreWithoutRedis("hub over redis"),
  async fn() {
    await using redis = await startRedis();
    await using a = await node(redis.url, "a");
    await using b = await node(redis.url, "b");
    await using t = await openTestCore();
    // A bit of everything: accounts, a direct room, a group, messages, reads, desk, signals.
    const ann = await person(t, { role: "member" });
    const tom = await person(t, { role: "teacher" });
    const direct = await t.core.rooms.direct(ann.user.id, tom.user.id);
    await t.core.messages.send({ roomId: direct.id, authorId: ann.user.id, text: "hi" });
    await t.core.messages.markRead(direct.id, tom.user.id);
    const group = await t.core.groups.create(ann.user.id, { name: "g", roomType: "chat" });
    await t.core.groups.enter(group.id, tom.user.id);
    const desk = await t.core.desk.open(ann.user.id, "help");
    await t.core.desk.announce(desk.id, ann.user.id);
    await t.core.desk.join(desk.id, tom.user.id);
    await t.core.desk.close(desk.id, tom.user.id);
    t.core.signals.relay({
      roomId: group.id,
      fromUserId: ann.user.id,
      fromConnection: "c1",
      payload: { type: "offer", sdp: "v=0", nested: { list: [1, "x", null] } },
    });
    const release = t.core.presence.connect(ann.user.id);
    release();
    await t.core.groups.update(group.id, ann.user.id, { name: "renamed" });
    await t.core.accounts.deactivate(tom.user.id);

    const events = t.events;
    const kinds = new Set(events.map((e) => e.event.type));
    for (const kind of ["message.created", "read.updated", "room.created", "room.status"]) {
      assert.ok(kinds.has(kind as DomainEvent["type"]), `no ${kind} in the scenario`);
    }
    for (const { event } of events) {
      assert.deepEqual(jsonUnsafePaths(event), [], `${event.type} is not JSON-safe`);
    }
    const topics = [...new Set(events.map((e) => e.topic))];
    for (const topic of topics) b.hear(topic);
    for (const { topic, event } of events) a.hub.publish(topic, event);
    await waitFor(() => b.heard.length === events.length, { what: "every event on b" });
    for (let i = 0; i < events.length; i++) {
      assert.equal(b.heard[i].topic, events[i].topic);
      assert.deepEqual(b.heard[i].event, withoutUndefined(events[i].event), events[i].event.type);
    }
  },
});

/** The value as JSON carries it: properties holding undefined are absent. */
function withoutUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUndefined);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).filter(([, v]) => v !== undefined).map((
      [k, v],
    ) => [k, withoutUndefined(v)]),
  );
}
