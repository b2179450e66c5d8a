// Who is online, across every face: a count of open connections per user, fed by every face's
// connections. The first connection and the last disconnection publish presence.changed (to
// `all` and `user:<id>`). This one counts in one process; a shared store can stand behind the
// same interface to count across nodes.
import { type EventSink, topic } from "./events.ts";

export interface Presence {
  /** Counts a new connection; returns the function that uncounts it (safe to call twice). */
  connect(userId: number): () => void;
  isOnline(userId: number): boolean;
  onlineIds(): number[];
}

export function createPresence(events: EventSink): Presence {
  const counts = new Map<number, number>();

  function announce(userId: number, online: boolean) {
    const event = { type: "presence.changed", userId, online } as const;
    events.publish(topic.everyone, event);
    events.publish(topic.user(userId), event);
  }

  return {
    connect(userId) {
      const before = counts.get(userId) ?? 0;
      counts.set(userId, before + 1);
      if (before === 0) announce(userId, true);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (counts.get(userId) ?? 1) - 1;
        if (left > 0) return void counts.set(userId, left);
        counts.delete(userId);
        announce(userId, false);
      };
    },
    isOnline: (userId) => counts.has(userId),
    onlineIds: () => [...counts.keys()],
  };
}
