// The open connections of one raw-WebSocket face, indexed by user and by hub topic. The hub
// feeds it through a topic bridge: one hub subscription per topic with listeners here, whatever
// the number of connections on it, dropped with the last of them.
import type { DomainEvent } from "@/lib/events.ts";
import type { Hub } from "../hub.ts";
import { createTopicBridge } from "../topic_bridge.ts";
import type { WsConnection } from "./connection.ts";

export class ConnectionRegistry<D> {
  readonly #byUser = new Map<number, Set<WsConnection<D>>>();
  readonly #byTopic = new Map<string, Set<WsConnection<D>>>();
  readonly #bridge;

  constructor(hub: Hub, onEvent: (event: DomainEvent, topic: string) => void) {
    this.#bridge = createTopicBridge(hub, onEvent);
  }

  add(conn: WsConnection<D>): void {
    addTo(this.#byUser, conn.user.id, conn);
    for (const topic of conn.topics) {
      addTo(this.#byTopic, topic, conn);
      this.#bridge.ensure(topic);
    }
  }

  /** Starts delivering `topic` to a registered connection. */
  addTopic(conn: WsConnection<D>, topic: string): void {
    // A connection already gone (closed while its face decided) must not come back.
    if (!this.#byUser.get(conn.user.id)?.has(conn) || !conn._addTopic(topic)) return;
    addTo(this.#byTopic, topic, conn);
    this.#bridge.ensure(topic);
  }

  /** Stops delivering `topic` to a connection. */
  removeTopic(conn: WsConnection<D>, topic: string): void {
    if (!conn._removeTopic(topic)) return;
    if (removeFrom(this.#byTopic, topic, conn)) this.#bridge.drop(topic);
  }

  remove(conn: WsConnection<D>): void {
    removeFrom(this.#byUser, conn.user.id, conn);
    for (const topic of conn.topics) {
      if (removeFrom(this.#byTopic, topic, conn)) this.#bridge.drop(topic);
    }
  }

  /** The connections listening to `topic` (a copy: callers may close them while iterating). */
  onTopic(topic: string): WsConnection<D>[] {
    return [...(this.#byTopic.get(topic) ?? [])];
  }

  ofUser(userId: number): WsConnection<D>[] {
    return [...(this.#byUser.get(userId) ?? [])];
  }

  all(): WsConnection<D>[] {
    return [...this.#byUser.values()].flatMap((set) => [...set]);
  }

  /** Sizes of every index, for tests and metrics: all zero once everyone has left. */
  stats() {
    let connections = 0;
    for (const set of this.#byUser.values()) connections += set.size;
    return {
      connections,
      users: this.#byUser.size,
      topics: this.#byTopic.size,
      subscriptions: this.#bridge.topics().length,
    };
  }

  close(): void {
    this.#bridge.close();
  }
}

function addTo<K, V>(index: Map<K, Set<V>>, key: K, value: V): void {
  let set = index.get(key);
  if (!set) index.set(key, set = new Set());
  set.add(value);
}

/** Removes `value`; true when it was the last one under `key`. */
function removeFrom<K, V>(index: Map<K, Set<V>>, key: K, value: V): boolean {
  const set = index.get(key);
  if (!set?.delete(value) || set.size > 0) return false;
  index.delete(key);
  return true;
}
