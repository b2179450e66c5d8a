// Connects hub topics to one face's connections: the face subscribes once per topic (not once
// per connection), renders each event once, and sends the result to all of them.
import type { DomainEvent } from "@/lib/events.ts";
import type { Hub } from "./hub.ts";

export interface TopicBridge {
  /** Subscribes `topic` unless it already is. */
  ensure(topic: string): void;
  /** Stops listening to `topic`. */
  drop(topic: string): void;
  topics(): string[];
  close(): void;
}

export function createTopicBridge(
  hub: Hub,
  render: (event: DomainEvent, topic: string) => void,
): TopicBridge {
  const subscriptions = new Map<string, () => void>();
  return {
    ensure(topic) {
      if (!subscriptions.has(topic)) subscriptions.set(topic, hub.subscribe(topic, render));
    },
    drop(topic) {
      subscriptions.get(topic)?.();
      subscriptions.delete(topic);
    },
    topics: () => [...subscriptions.keys()],
    close() {
      for (const off of subscriptions.values()) off();
      subscriptions.clear();
    },
  };
}
