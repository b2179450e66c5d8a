// Who is online, across every face: a count of open connections per user, fed by every face's
// connections. The first connection and the last disconnection publish presence.changed (to
// `all` and `user:<id>`). Rooms keep the same count per (room, user) for the faces that show who
// has a conversation open (inbox's user_join / user_leave / online_user_list). This one counts in
// one process; with REDIS_URL, realtime/redis/presence.ts stands behind the same interface and
// counts across nodes.
import { type EventSink, topic } from "./events.ts";

export interface Presence {
  /** Counts a new connection; returns the function that uncounts it (safe to call twice). */
  connect(userId: number): () => void;
  isOnline(userId: number): boolean;
  onlineIds(): number[];
  /**
   * Counts a connection opened onto a room: publishes room.joined each time, room.left when the
   * user's last connection onto the room goes. Returns the function that uncounts it.
   */
  enterRoom(roomId: number, userId: number): () => void;
  /** The users with a connection open onto the room. */
  inRoom(roomId: number): number[];
}

/** Counts per key; `release` of the last one reports it. */
function counter<K>() {
  const counts = new Map<K, number>();
  return {
    counts,
    /** Adds one; true when it was the first. */
    add(key: K): boolean {
      const before = counts.get(key) ?? 0;
      counts.set(key, before + 1);
      return before === 0;
    },
    /** Removes one; true when it was the last. */
    remove(key: K): boolean {
      const left = (counts.get(key) ?? 1) - 1;
      if (left > 0) {
        counts.set(key, left);
        return false;
      }
      counts.delete(key);
      return true;
    },
  };
}

/** Wraps `fn` so that only its first call runs (a release that may be called twice). */
export function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

export function createPresence(events: EventSink): Presence {
  const users = counter<number>();
  /** Room id → user id → open connections onto that room. */
  const rooms = new Map<number, ReturnType<typeof counter<number>>>();

  function announce(userId: number, online: boolean) {
    const event = { type: "presence.changed", userId, online } as const;
    events.publish(topic.everyone, event);
    events.publish(topic.user(userId), event);
  }

  return {
    connect(userId) {
      if (users.add(userId)) announce(userId, true);
      return once(() => {
        if (users.remove(userId)) announce(userId, false);
      });
    },
    isOnline: (userId) => users.counts.has(userId),
    onlineIds: () => [...users.counts.keys()],
    enterRoom(roomId, userId) {
      let room = rooms.get(roomId);
      if (!room) rooms.set(roomId, room = counter<number>());
      room.add(userId);
      events.publish(topic.room(roomId), { type: "room.joined", roomId, userId });
      return once(() => {
        const current = rooms.get(roomId);
        if (!current?.remove(userId)) return;
        if (current.counts.size === 0) rooms.delete(roomId);
        events.publish(topic.room(roomId), { type: "room.left", roomId, userId });
      });
    },
    inRoom: (roomId) => [...(rooms.get(roomId)?.counts.keys() ?? [])],
  };
}
