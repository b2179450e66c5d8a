// The meet face's WebSocket, /ws/chat/{room_id}/ (specs/meet.md): chat messages through the
// core (committed, then sent to the room in commit order) and WebRTC signals relayed to the
// other connections of the room. Authentication and the room check happen before the upgrade
// (routes/meet.ts); this file owns the open connections.
import type { Core } from "@/lib/core.ts";
import { ChatError } from "@/lib/errors.ts";
import { type DomainEvent, topic } from "@/lib/events.ts";
import type { Logger } from "@/lib/log.ts";
import type { Principal } from "@/lib/records.ts";
import { meetMessage } from "./json.ts";
import type { Hub } from "@/realtime/hub.ts";
import { createTopicBridge } from "@/realtime/topic_bridge.ts";

/** Close codes beyond RFC 6455's, in the 4000–4999 range applications own. */
export const CLOSE = {
  tooBig: 1009,
  goingAway: 1001,
  internal: 1011,
  roomDeleted: 4404,
  signedOut: 4401,
} as const;

const SIGNALS = new Set(["webrtc-offer", "webrtc-answer", "webrtc-ice-candidate", "webrtc-hangup"]);
/** Each signal must carry its payload field (hangup has none). */
const SIGNAL_FIELD: Record<string, string | undefined> = {
  "webrtc-offer": "offer",
  "webrtc-answer": "answer",
  "webrtc-ice-candidate": "candidate",
};

interface Conn {
  ws: WebSocket;
  /** Frames are handled one after another, so a sender's messages keep their order. */
  queue: Promise<void>;
  roomId: number;
  userId: number;
  sessionId: string;
}

export interface MeetSocketOptions {
  core: Core;
  hub: Hub;
  log: Logger;
  /** Largest accepted frame in bytes; a larger one closes the socket with 1009. */
  maxMessageBytes: number;
}

export function createMeetSocket(opts: MeetSocketOptions) {
  const { core, hub, log } = opts;
  const byRoom = new Map<number, Set<Conn>>();
  const byUser = new Map<number, Set<Conn>>();
  const bridge = createTopicBridge(hub, render);

  function add<K>(index: Map<K, Set<Conn>>, key: K, conn: Conn) {
    let set = index.get(key);
    if (!set) index.set(key, set = new Set());
    set.add(conn);
  }

  function remove<K>(index: Map<K, Set<Conn>>, key: K, conn: Conn, topicName: string) {
    const set = index.get(key);
    set?.delete(conn);
    if (set?.size === 0) {
      index.delete(key);
      bridge.drop(topicName);
    }
  }

  function sendAll(conns: Iterable<Conn>, frame: string, except?: Conn) {
    for (const conn of conns) {
      if (conn !== except && conn.ws.readyState === WebSocket.OPEN) conn.ws.send(frame);
    }
  }

  function closeAll(conns: Iterable<Conn> | undefined, code: number, reason: string) {
    for (const conn of [...(conns ?? [])]) conn.ws.close(code, reason);
  }

  function render(event: DomainEvent, name: string): void {
    switch (event.type) {
      case "message.created": {
        const conns = byRoom.get(event.message.roomId);
        if (!conns || name !== topic.room(event.message.roomId)) return;
        // Rendered once for the whole room; sent in the order the core published (= commit).
        sendAll(conns, JSON.stringify(meetMessage(event.message, event.author)));
        break;
      }
      case "room.updated":
        if (!event.room.isActive) {
          closeAll(byRoom.get(event.room.id), CLOSE.roomDeleted, "room deleted");
        }
        break;
      case "user.deactivated":
        closeAll(byUser.get(event.userId), CLOSE.signedOut, "account deleted");
        break;
      case "session.revoked":
        closeAll(
          [...(byUser.get(event.userId) ?? [])].filter((c) => c.sessionId === event.sessionId),
          CLOSE.signedOut,
          "signed out",
        );
        break;
    }
  }

  function byteLength(data: string | ArrayBuffer): number {
    return typeof data === "string" ? new TextEncoder().encode(data).byteLength : data.byteLength;
  }

  async function onFrame(conn: Conn, data: string | ArrayBuffer): Promise<void> {
    if (byteLength(data) > opts.maxMessageBytes) {
      conn.ws.close(CLOSE.tooBig, "message too big");
      return;
    }
    let msg: Record<string, unknown>;
    try {
      if (typeof data !== "string") throw new Error("binary frame");
      msg = JSON.parse(data);
      if (typeof msg !== "object" || msg === null || Array.isArray(msg)) {
        throw new Error("not an object");
      }
    } catch {
      log.warn("meet: dropped a malformed frame", { user_id: conn.userId, room_id: conn.roomId });
      return;
    }
    const type = msg.type;
    if (typeof type === "string" && SIGNALS.has(type)) return relay(conn, type, msg);
    if (type !== undefined && type !== "chat") {
      log.warn("meet: dropped a frame of unknown type", {
        user_id: conn.userId,
        type: String(type),
      });
      return;
    }
    if (typeof msg.content !== "string") {
      log.warn("meet: dropped a chat frame without content", { user_id: conn.userId });
      return;
    }
    try {
      await core.groups.send(conn.roomId, conn.userId, msg.content);
    } catch (err) {
      if (err instanceof ChatError) {
        log.warn("meet: refused a chat message", { user_id: conn.userId, detail: err.message });
      } else {
        log.error("meet: chat message failed", { user_id: conn.userId, error: err });
      }
    }
  }

  function relay(conn: Conn, type: string, msg: Record<string, unknown>): void {
    const field = SIGNAL_FIELD[type];
    if (field && (typeof msg[field] !== "object" || msg[field] === null)) {
      log.warn("meet: dropped a signal without its payload", { user_id: conn.userId, type });
      return;
    }
    const target = msg.target;
    if (target !== undefined && !Number.isSafeInteger(target)) {
      log.warn("meet: dropped a signal with a bad target", { user_id: conn.userId, type });
      return;
    }
    // The server says who sent it; a client-supplied sender_id is overwritten.
    const frame = JSON.stringify({ ...msg, sender_id: conn.userId });
    const room = byRoom.get(conn.roomId) ?? new Set<Conn>();
    const to = target === undefined ? room : [...room].filter((c) => c.userId === target);
    sendAll(to, frame, conn);
  }

  /** Upgrades an authenticated request for an existing room. */
  function upgrade(
    req: Request,
    principal: Principal,
    roomId: number,
    protocol?: string,
  ): Response {
    const { socket: ws, response } = Deno.upgradeWebSocket(req, protocol ? { protocol } : {});
    const conn: Conn = {
      ws,
      queue: Promise.resolve(),
      roomId,
      userId: principal.user.id,
      sessionId: principal.sessionId,
    };
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      add(byRoom, roomId, conn);
      add(byUser, conn.userId, conn);
      bridge.ensure(topic.room(roomId));
      bridge.ensure(topic.user(conn.userId));
    };
    ws.onmessage = (event) => {
      conn.queue = conn.queue.then(() => onFrame(conn, event.data))
        .catch((error) => log.error("meet: frame failed", { error }));
    };
    ws.onclose = () => {
      remove(byRoom, roomId, conn, topic.room(roomId));
      remove(byUser, conn.userId, conn, topic.user(conn.userId));
    };
    ws.onerror = () => {};
    return response;
  }

  return {
    upgrade,
    /** Open connections in a room (tests and metrics). */
    count: (roomId: number) => byRoom.get(roomId)?.size ?? 0,
    close() {
      for (const conns of byRoom.values()) closeAll(conns, CLOSE.goingAway, "server shutting down");
      bridge.close();
    },
  };
}

export type MeetSocket = ReturnType<typeof createMeetSocket>;
