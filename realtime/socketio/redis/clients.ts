// The Redis connections of one factory (adapter or recovery store), shared by its namespaces
// and closed with the last of them. Commands never wait on a Redis that is away for long: the
// client reconnects with backoff, and what is sent meanwhile is queued (at most 10,000 commands;
// beyond, they fail and are dropped), never blocking a socket loop.
import { createClient } from "redis";

export type RedisClient = ReturnType<typeof createClient>;

export interface SharedClients {
  /** One more user (namespace); each calls release() once. */
  acquire(): void;
  /** Publishes and runs commands. */
  pub(): RedisClient;
  /** In subscribed mode (pub/sub only). */
  sub(): RedisClient;
  release(): Promise<void>;
}

/** Reconnects after 50 ms, doubling up to 2 s: a Redis restart costs at most a few seconds. */
const backoff = (retries: number) => Math.min(50 * 2 ** retries, 2000);

export function sharedClients(
  url: string,
  onError: (err: unknown) => void,
  onReady: () => void = () => {},
): SharedClients {
  let users = 0;
  let pub: RedisClient | undefined;
  let sub: RedisClient | undefined;
  const open = (): RedisClient => {
    const client = createClient({
      url,
      socket: { reconnectStrategy: backoff },
      // Bounded: beyond this many commands waiting for Redis, new ones fail (and are dropped).
      commandsQueueMaxLength: 10_000,
    });
    client.on("error", onError);
    client.on("ready", onReady);
    client.connect().catch(onError);
    return client;
  };
  return {
    acquire() {
      users++;
    },
    pub() {
      return pub ??= open();
    },
    sub() {
      return sub ??= open();
    },
    async release() {
      if (--users > 0) return;
      const clients = [pub, sub];
      pub = sub = undefined;
      await Promise.all(clients.map(async (client) => {
        if (!client) return;
        try {
          await client.close();
        } catch {
          client.destroy();
        }
      }));
    },
  };
}
