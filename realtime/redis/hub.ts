// The hub across nodes (REDIS_URL set): the in-memory hub for this node's listeners, and Redis
// pub/sub between nodes.
//
// - publish() delivers to this node's listeners at once, as the in-memory hub does, and queues
//   the event, encoded once, for Redis. The queue is bounded (REDIS_QUEUE; the oldest event
//   goes first when full, counted) and drained in the background: a request or a socket loop
//   never waits for Redis. While Redis is away the queue holds the newest events and sends them
//   when it is back; what falls out of it the other nodes' clients find in the history.
// - Every node publishes to and subscribes to ONE channel, `<prefix>:events`. Each message
//   carries the topic and the publishing node's id in front (envelope.ts): a node drops its own
//   echo (it delivered locally already), skips topics nobody on it listens to before parsing,
//   and parses the rest once, whatever the number of listeners. One channel keeps the order in
//   which a node published across topics (a direct room's announcement on `user:7` arrives
//   before its first message on `room:42`), where one channel per topic with SUBSCRIBE as local
//   interest comes would lose the events published while a node was subscribing.
import type { DomainEvent } from "@/lib/events.ts";
import type { Logger } from "@/lib/log.ts";
import type { Metrics } from "@/lib/metrics.ts";
import { createMemoryHub, type Hub, type HubOptions } from "../hub.ts";
import { encodeEnvelope, readBody, readHead } from "./envelope.ts";
import type { RedisLink } from "./link.ts";

export interface RedisHubOptions extends HubOptions {
  link: RedisLink;
  /** This node's id: its own messages come back from Redis and are dropped by it. */
  nodeId: string;
  /** The one channel every node publishes to and listens on. */
  channel: string;
  /** Most events waiting for Redis (the oldest is dropped beyond). */
  maxQueued: number;
  log: Logger;
  metrics?: Metrics;
}

/** Events sent to Redis at once (pipelined by the client). */
const BATCH = 256;
/** How often a run of dropped events is logged at most (ms). */
const WARN_EVERY_MS = 10_000;

export function createRedisHub(options: RedisHubOptions): Hub {
  const { link, nodeId, channel, log } = options;
  const local = createMemoryHub(options);
  // Children bound once: counting is on the path of every event.
  const counters = new Map<string, { inc(n?: number): void } | undefined>();
  const count = (outcome: string, n = 1) => {
    let counter = counters.get(outcome);
    if (counter === undefined && !counters.has(outcome)) {
      counter = options.metrics?.hubRedis.labels({ outcome });
      counters.set(outcome, counter);
    }
    counter?.inc(n);
  };
  const queue: string[] = [];
  let sending = false;
  let subscribed = false;
  let closed = false;
  let dropped = 0;
  let lastDropWarning = 0;

  function publish(topic: string, event: DomainEvent): void {
    if (closed) return;
    local.publish(topic, event);
    if (queue.length >= options.maxQueued) {
      queue.shift();
      count("dropped_queue_full");
      dropped++;
      const now = Date.now();
      if (now - lastDropWarning >= WARN_EVERY_MS) {
        log.warn("hub queue full: oldest events dropped", { dropped, max: options.maxQueued });
        lastDropWarning = now;
        dropped = 0;
      }
    }
    queue.push(encodeEnvelope(nodeId, topic, event));
    if (!sending) void drain();
  }

  /** Sends the queue to Redis while it is connected; one drain at a time. */
  async function drain(): Promise<void> {
    if (sending) return;
    sending = true;
    try {
      while (queue.length > 0 && link.commands.isReady && !closed) {
        const batch = queue.splice(0, BATCH);
        const results = await Promise.allSettled(
          batch.map((message) => link.commands.publish(channel, message)),
        );
        const failed = results.filter((r) => r.status === "rejected").length;
        if (failed > 0) count("publish_failed", failed);
        if (failed < batch.length) count("published", batch.length - failed);
        // Lost with the connection: they were sent or not, we cannot tell; not sent twice.
        if (failed > 0) break;
      }
    } finally {
      sending = false;
    }
  }

  function receive(message: string): void {
    if (closed) return;
    const head = readHead(message);
    if (!head) return void count("undecodable");
    if (head.nodeId === nodeId) return void count("echo");
    if (local.listenerCount(head.topic) === 0) return void count("unheard");
    let event: DomainEvent;
    try {
      event = readBody(message, head);
    } catch (error) {
      count("undecodable");
      log.warn("hub message not understood", { topic: head.topic, error });
      return;
    }
    count("received");
    local.publish(head.topic, event);
  }

  async function subscribe(): Promise<void> {
    if (subscribed || closed) return;
    try {
      await link.subscriber.subscribe(channel, receive);
      subscribed = true;
    } catch (error) {
      // Tried again on the next ready; the client re-subscribes by itself after that.
      log.warn("hub subscription failed", { channel, error });
    }
  }

  link.subscriber.on("ready", () => void subscribe());
  if (link.subscriber.isReady) void subscribe();
  link.onReady(() => void drain());

  return {
    publish,
    subscribe: local.subscribe,
    listenerCount: local.listenerCount,
    problem() {
      const problem = link.problem();
      if (problem) return problem;
      return subscribed ? undefined : "redis hub: not subscribed yet";
    },
    async close() {
      // What is queued gets one chance to leave (briefly) before the link closes.
      const until = Date.now() + 1_000;
      while (queue.length > 0 && link.commands.isReady && Date.now() < until) {
        await drain();
        if (queue.length > 0) await new Promise((r) => setTimeout(r, 10));
      }
      closed = true;
      await local.close();
    },
  };
}
