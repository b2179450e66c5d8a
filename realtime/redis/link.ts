// The node's connection to Redis: one client for commands (PUBLISH, the presence scripts) and one
// in subscriber mode, as Redis requires. Neither ever makes a caller wait for Redis: commands
// sent while Redis is away fail at once (no offline queue; the hub and presence keep their own
// bounded state), and both clients reconnect by themselves with a capped, jittered backoff.
// The link says whether it is healthy and, when not, why (for /readyz and the log).
import { createClient } from "redis";
import type { Logger } from "@/lib/log.ts";

export type RedisClient = ReturnType<typeof createClient>;

export interface RedisLinkOptions {
  url: string;
  log: Logger;
  /** First and longest wait between two connection attempts (ms). */
  backoff?: { first: number; max: number };
}

export interface RedisLink {
  /** The client for commands; its calls reject at once while it is not connected. */
  readonly commands: RedisClient;
  /** The client in subscriber mode (re-subscribes by itself after a reconnect). */
  readonly subscriber: RedisClient;
  /** Both clients connected. */
  up(): boolean;
  /** Why the link is not healthy (undefined when it is). */
  problem(): string | undefined;
  /** Runs `fn` each time the commands client becomes ready (now, if it is). */
  onReady(fn: () => void): void;
  close(): Promise<void>;
}

/** The wait before reconnection attempt `retries` (0-based): doubling, capped, with jitter. */
export function backoffDelay(retries: number, first: number, max: number): number {
  const base = Math.min(max, first * 2 ** Math.min(retries, 20));
  return Math.round(base / 2 + Math.random() * base / 2);
}

/** `redis://user:secret@host:6379/0` → `redis://host:6379/0`, for the log. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return "<unparsable url>";
  }
}

export function createRedisLink(options: RedisLinkOptions): RedisLink {
  const { log } = options;
  const { first, max } = options.backoff ?? { first: 100, max: 5_000 };
  const where = redactUrl(options.url);
  const commands: RedisClient = createClient({
    url: options.url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 5_000,
      reconnectStrategy: (retries: number) => backoffDelay(retries, first, max),
    },
  });
  const subscriber: RedisClient = commands.duplicate();
  const readyHandlers: (() => void)[] = [];
  const state = {
    commands: { ready: false, error: "connecting" as string | undefined },
    subscriber: { ready: false, error: "connecting" as string | undefined },
  };
  let closed = false;

  function watch(name: "commands" | "subscriber", client: RedisClient): void {
    const s = state[name];
    /** Errors seen since the link went down; logged once, then counted. */
    let failures = 0;
    client.on("error", (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      if (closed) return;
      if (s.ready || failures === 0) {
        log.warn("redis unavailable", { client: name, url: where, error: message });
      }
      failures++;
      s.ready = false;
      s.error = message;
    });
    client.on("ready", () => {
      if (failures > 0) log.info("redis connected again", { client: name, url: where, failures });
      failures = 0;
      s.ready = true;
      s.error = undefined;
      if (name === "commands") { for (const fn of readyHandlers) fn(); }
    });
    client.on("end", () => {
      s.ready = false;
      s.error ??= "closed";
    });
  }
  watch("commands", commands);
  watch("subscriber", subscriber);

  // Not awaited: a node starts (degraded) while Redis is away and connects when it comes.
  for (const client of [commands, subscriber]) {
    client.connect().catch((error: unknown) => {
      if (!closed) log.error("redis connection abandoned", { url: where, error });
    });
  }

  return {
    commands,
    subscriber,
    up: () => state.commands.ready && state.subscriber.ready,
    problem() {
      for (const name of ["commands", "subscriber"] as const) {
        const s = state[name];
        if (!s.ready) return `redis ${name} connection: ${s.error ?? "not connected"}`;
      }
      return undefined;
    },
    onReady(fn) {
      readyHandlers.push(fn);
      if (state.commands.ready) fn();
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const client of [commands, subscriber]) {
        try {
          if (client.isOpen) client.destroy();
        } catch {
          // Already closed.
        }
      }
      await Promise.resolve();
    },
  };
}
