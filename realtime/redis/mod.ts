// Several nodes over one Redis (REDIS_URL): the hub and presence that span them, on one link.
// See hub.ts for the channel layout and presence.ts for the heartbeat and its bound.
import type { Logger } from "@/lib/log.ts";
import type { Metrics } from "@/lib/metrics.ts";
import type { Hub, HubOptions } from "../hub.ts";
import { createRedisHub } from "./hub.ts";
import { createRedisLink } from "./link.ts";
import { createRedisPresence, type RedisPresence } from "./presence.ts";

export { createRedisHub } from "./hub.ts";
export { createRedisLink, redactUrl, type RedisLink } from "./link.ts";
export { createRedisPresence, type RedisPresence } from "./presence.ts";

export interface RedisClusterOptions extends HubOptions {
  url: string;
  /** Prefix of every channel and key, so that deployments can share one Redis. */
  prefix: string;
  /** Most hub events waiting for Redis. */
  maxQueued: number;
  /** ms */
  heartbeatMs: number;
  ttlMs: number;
  log: Logger;
  metrics?: Metrics;
  /** This node's id (a fresh one by default). */
  nodeId?: string;
}

export interface RedisCluster {
  nodeId: string;
  hub: Hub;
  presence: RedisPresence;
  /** Why this node is degraded (undefined: it is not). */
  problem(): string | undefined;
  /** Takes the node's users back, sends what is queued, and closes the link. */
  close(): Promise<void>;
}

/** A node id unique across restarts: host, process and a random tail. */
export function newNodeId(): string {
  let host = "node";
  try {
    host = Deno.hostname();
  } catch {
    // No --allow-sys: the random tail is enough.
  }
  return `${host}-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
}

export function createRedisCluster(options: RedisClusterOptions): RedisCluster {
  const nodeId = options.nodeId ?? newNodeId();
  const link = createRedisLink({ url: options.url, log: options.log });
  const hub = createRedisHub({
    link,
    nodeId,
    channel: `${options.prefix}:events`,
    maxQueued: options.maxQueued,
    log: options.log,
    metrics: options.metrics,
    onListenerError: options.onListenerError,
  });
  const presence = createRedisPresence({
    link,
    hub,
    nodeId,
    prefix: options.prefix,
    heartbeatMs: options.heartbeatMs,
    ttlMs: options.ttlMs,
    log: options.log,
  });
  let closing: Promise<void> | undefined;
  return {
    nodeId,
    hub,
    presence,
    problem: () => hub.problem?.() ?? presence.problem(),
    close() {
      closing ??= (async () => {
        await presence.close();
        await hub.close();
        await link.close();
      })();
      return closing;
    },
  };
}
