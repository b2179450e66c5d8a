// Presence across nodes (REDIS_URL set), behind the core's Presence interface.
//
// Each node counts its own connections in memory, as the one-process presence does, and tells
// Redis which users (and which room presences) it holds: the changes, coalesced, one script call
// at a time (presence_script.ts), never awaited by a face. The script says which changes are
// cluster-wide (first connection anywhere, last one gone): only the node that made such a change
// publishes presence.changed (or room.left), so it fires once per real change, not once per node.
//
// A node refreshes its deadline every heartbeat (PRESENCE_HEARTBEAT); a node whose deadline
// (PRESENCE_TTL after its last heartbeat) passed is swept by the next heartbeat of any other node
// and its users go offline. So a node killed without a goodbye stops counting within
// PRESENCE_TTL + PRESENCE_HEARTBEAT. A node that stops gracefully takes its users back at once.
//
// isOnline / onlineIds / inRoom stay synchronous: they read this node's own connections and a
// view of the other nodes', fed by presence.changed events as they arrive and replaced by a
// snapshot from Redis at every heartbeat. The view of other nodes' users is at most one
// heartbeat stale when an event was missed; room presence on other nodes (inRoom) is refreshed
// by the snapshot only. While Redis is away the view keeps its last state and this node's
// changes wait; on reconnection the node states everything it holds again (a full sync), and the
// changes that add up to a cluster-wide one are announced then.
import { type DomainEvent, type EventSink, topic } from "@/lib/events.ts";
import type { Logger } from "@/lib/log.ts";
import { once, type Presence } from "@/lib/presence.ts";
import type { Hub } from "../hub.ts";
import type { RedisLink } from "./link.ts";
import { PRESENCE_SCRIPT, presenceKeys } from "./presence_script.ts";

export interface RedisPresenceOptions {
  link: RedisLink;
  /** Where presence.changed / room.joined / room.left go, and where other nodes' come from. */
  hub: Pick<Hub, "subscribe"> & EventSink;
  nodeId: string;
  prefix: string;
  /** ms between two heartbeats of this node. */
  heartbeatMs: number;
  /** ms after its last heartbeat when a silent node's users stop counting. */
  ttlMs: number;
  log: Logger;
}

export interface RedisPresence extends Presence {
  /** Why presence may be wrong across nodes right now (undefined: it is not). */
  problem(): string | undefined;
  /** Takes this node's users back (they go offline unless connected elsewhere) and stops. */
  close(): Promise<void>;
}

const userKey = (userId: number) => `u:${userId}`;
const roomKey = (roomId: number, userId: number) => `r:${roomId}:${userId}`;

export function createRedisPresence(options: RedisPresenceOptions): RedisPresence {
  const { link, hub, nodeId, log } = options;
  const keys = presenceKeys(options.prefix, nodeId);
  /** This node's connections per key. */
  const local = new Map<string, number>();
  /** Keys whose holding changed since Redis was last told. */
  const dirty = new Set<string>();
  /** The other nodes' (and this one's, as Redis last said) online users and room presences. */
  let remoteUsers = new Set<number>();
  let remoteRooms = new Map<number, Set<number>>();
  /** Redis must be told everything this node holds (at start, after a failure or a sweep). */
  let needFull = true;
  let synced = false;
  let flushing = false;
  let again = false;
  let closed = false;
  let lastError: string | undefined;

  function add(key: string): void {
    const before = local.get(key) ?? 0;
    local.set(key, before + 1);
    if (before === 0) changed(key);
  }

  function remove(key: string): void {
    const left = (local.get(key) ?? 1) - 1;
    if (left > 0) return void local.set(key, left);
    local.delete(key);
    changed(key);
  }

  function changed(key: string): void {
    dirty.add(key);
    void flush();
  }

  async function run(mode: "delta" | "full" | "leave", adds: string[], removes: string[]) {
    const reply = await link.commands.sendCommand([
      "EVAL",
      PRESENCE_SCRIPT,
      "3",
      keys.nodes,
      keys.online,
      keys.mine,
      nodeId,
      String(options.ttlMs),
      mode,
      keys.nodeSetPrefix,
      String(adds.length),
      ...adds,
      ...removes,
    ]);
    return (reply as unknown as string[]).map(String);
  }

  /** Tells Redis what changed (or everything), then announces the cluster-wide changes. */
  async function flush(): Promise<void> {
    if (flushing) return void (again = true);
    flushing = true;
    try {
      do {
        again = false;
        if (closed || !link.commands.isReady) return;
        if (!needFull && dirty.size === 0) continue;
        const full = needFull;
        const taken = full ? [...local.keys()] : [...dirty];
        dirty.clear();
        const adds = full ? taken : taken.filter((k) => local.has(k));
        const removes = full ? [] : taken.filter((k) => !local.has(k));
        let changes: string[];
        try {
          changes = await run(full ? "full" : "delta", adds, removes);
        } catch (error) {
          failed(error);
          return;
        }
        if (changes[0] === "resync") {
          // This node was swept while it could not reach Redis: state everything again.
          log.warn("presence: this node had expired; stating its connections again", {
            node: nodeId,
          });
          needFull = true;
          again = true;
          continue;
        }
        if (full) {
          needFull = false;
          synced = true;
        }
        announce(changes);
      } while (again || (!closed && (needFull || dirty.size > 0) && link.commands.isReady));
    } finally {
      flushing = false;
    }
  }

  function failed(error: unknown): void {
    // Whether the script ran is unknown: the next connection states everything again.
    needFull = true;
    synced = false;
    const message = error instanceof Error ? error.message : String(error);
    if (message !== lastError) log.warn("presence: redis call failed", { error: message });
    lastError = message;
  }

  /** Publishes what became true or false across the cluster by this node's call. */
  function announce(changes: string[]): void {
    for (const change of changes) {
      const sign = change[0];
      const [kind, a, b] = change.slice(1).split(":");
      if (sign === "!") {
        log.info("presence: node expired, its users taken back", { node: change.slice(1) });
      } else if (kind === "u") {
        const userId = Number(a);
        const online = sign === "+";
        setRemoteUser(userId, online);
        const event: DomainEvent = { type: "presence.changed", userId, online };
        hub.publish(topic.everyone, event);
        hub.publish(topic.user(userId), event);
      } else if (kind === "r") {
        const roomId = Number(a);
        const userId = Number(b);
        setRemoteRoom(roomId, userId, sign === "+");
        if (sign === "-") hub.publish(topic.room(roomId), { type: "room.left", roomId, userId });
      }
    }
  }

  function setRemoteUser(userId: number, online: boolean): void {
    if (online) remoteUsers.add(userId);
    else remoteUsers.delete(userId);
  }

  function setRemoteRoom(roomId: number, userId: number, present: boolean): void {
    let users = remoteRooms.get(roomId);
    if (present) {
      if (!users) remoteRooms.set(roomId, users = new Set());
      users.add(userId);
    } else if (users?.delete(userId) && users.size === 0) remoteRooms.delete(roomId);
  }

  /** Replaces the view of every node's users and room presences with Redis's. */
  async function snapshot(): Promise<void> {
    const held = await link.commands.hKeys(keys.online);
    const users = new Set<number>();
    const rooms = new Map<number, Set<number>>();
    for (const key of held) {
      const [kind, a, b] = key.split(":");
      if (kind === "u") users.add(Number(a));
      else if (kind === "r") {
        let set = rooms.get(Number(a));
        if (!set) rooms.set(Number(a), set = new Set());
        set.add(Number(b));
      }
    }
    remoteUsers = users;
    remoteRooms = rooms;
  }

  async function beat(): Promise<void> {
    if (closed || !link.commands.isReady) return;
    try {
      if (!flushing && !needFull) {
        const changes = await run("delta", [], []);
        if (changes[0] === "resync") needFull = true;
        else announce(changes);
      }
      await flush();
      await snapshot();
    } catch (error) {
      failed(error);
    }
  }

  // Other nodes' announcements keep the view fresh between snapshots.
  const unsubscribe = hub.subscribe(topic.everyone, (event) => {
    if (event.type === "presence.changed") setRemoteUser(event.userId, event.online);
  });
  const timer = setInterval(() => void beat(), options.heartbeatMs);
  Deno.unrefTimer(timer);
  link.onReady(() => {
    needFull = true;
    void beat();
  });

  return {
    connect(userId) {
      const key = userKey(userId);
      add(key);
      return once(() => remove(key));
    },
    isOnline: (userId) => local.has(userKey(userId)) || remoteUsers.has(userId),
    onlineIds() {
      const ids = new Set(remoteUsers);
      for (const key of local.keys()) if (key.startsWith("u:")) ids.add(Number(key.slice(2)));
      return [...ids];
    },
    enterRoom(roomId, userId) {
      const key = roomKey(roomId, userId);
      add(key);
      hub.publish(topic.room(roomId), { type: "room.joined", roomId, userId });
      return once(() => remove(key));
    },
    inRoom(roomId) {
      const ids = new Set(remoteRooms.get(roomId) ?? []);
      const prefix = `r:${roomId}:`;
      for (const key of local.keys()) {
        if (key.startsWith(prefix)) ids.add(Number(key.slice(prefix.length)));
      }
      return [...ids];
    },
    problem() {
      return link.problem() ?? (synced ? undefined : "presence: not stated to redis yet");
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      unsubscribe();
      if (!link.commands.isReady) return;
      try {
        const leave = run("leave", [], []);
        const timeout = new Promise<never>((_, reject) => {
          const t = setTimeout(() => reject(new Error("timed out")), 1_000);
          leave.finally(() => clearTimeout(t));
        });
        announce(await Promise.race([leave, timeout]));
      } catch (error) {
        log.warn("presence: could not take this node's users back", { error });
      }
    },
  };
}
