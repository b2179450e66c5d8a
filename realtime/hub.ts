// The hub: the only place that knows who is connected. Connections subscribe to topics
// (`room:42`, `user:7`, `role:teacher`, `all`); the core publishes domain events to them.
// This in-memory hub serves one process; the Redis one (redis/hub.ts) takes its place behind the
// same interface when REDIS_URL is set.
import type { DomainEvent, EventSink } from "@/lib/events.ts";

export type HubListener = (event: DomainEvent, topic: string) => void;

export interface Hub extends EventSink {
  /** Starts delivering `topic`'s events to `listener`; returns the function that stops it. */
  subscribe(topic: string, listener: HubListener): () => void;
  /** Number of listeners on a topic (0 for unknown topics). */
  listenerCount(topic: string): number;
  /** Why events may not be reaching other nodes right now (undefined: they are, or no others). */
  problem?(): string | undefined;
  close(): Promise<void>;
}

export interface HubOptions {
  /** Where a listener's exception goes; it never reaches the publisher or other listeners. */
  onListenerError?: (err: unknown, topic: string, event: DomainEvent) => void;
}

export function createMemoryHub(options: HubOptions = {}): Hub {
  const topics = new Map<string, Set<HubListener>>();
  let closed = false;

  function publish(topicName: string, event: DomainEvent): void {
    const listeners = topics.get(topicName);
    if (!listeners || closed) return;
    // A copy: a listener may unsubscribe itself (or others) while we deliver.
    for (const listener of [...listeners]) {
      try {
        listener(event, topicName);
      } catch (err) {
        options.onListenerError?.(err, topicName, event);
      }
    }
  }

  function subscribe(topicName: string, listener: HubListener): () => void {
    let listeners = topics.get(topicName);
    if (!listeners) topics.set(topicName, listeners = new Set());
    listeners.add(listener);
    return () => {
      const current = topics.get(topicName);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) topics.delete(topicName);
    };
  }

  return {
    publish,
    subscribe,
    listenerCount: (topicName) => topics.get(topicName)?.size ?? 0,
    close() {
      closed = true;
      topics.clear();
      return Promise.resolve();
    },
  };
}
