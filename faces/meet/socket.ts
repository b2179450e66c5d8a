// The meet face's WebSocket, /ws/chat/{room_id}/: chat messages go through the core (committed,
// then sent to the room in commit order) and WebRTC signals are relayed to the room's other
// connections as hub events. Written on the raw-WebSocket kit; this file only translates.
import { Hono } from "hono";
import { z } from "zod";
import { RateLimited } from "@/lib/errors.ts";
import { LIMITS } from "@/lib/limits.ts";
import type { Core } from "@/lib/core.ts";
import { type DomainEvent, topic } from "@/lib/events.ts";
import type { Logger } from "@/lib/log.ts";
import type { Metrics } from "@/lib/metrics.ts";
import type { Hub } from "@/realtime/hub.ts";
import {
  CLOSE,
  type ConnectionLimits,
  createWsEndpoint,
  type Refusal,
  sendAll,
  type WsConnection,
} from "@/realtime/ws/mod.ts";
import type { AppEnv } from "@/routes/context.ts";
import { tooFast } from "@/routes/wording.ts";
import { meetChatFrame } from "./json.ts";

const SIGNALS = ["webrtc-offer", "webrtc-answer", "webrtc-ice-candidate", "webrtc-hangup"] as const;

/**
 * A signal is relayed with whatever fields it carries: the document's `offer: {type, sdp}`, the
 * original front-end's top-level `sdp`, or anything a later client adds. Only the type and the
 * target (a user id) are checked here; the kit bounds the size; the server sets sender_id.
 */
const signalFrame = z.looseObject({
  type: z.enum(SIGNALS),
  target: z.number().int().positive().optional(),
});

const chatFrame = z.object({
  type: z.literal("chat").optional(),
  content: z.string(),
  /** The sender's own id for this message: a retry with the same id is stored once. */
  client_id: z.string().min(1).max(LIMITS.clientId).optional(),
});

/** Every frame a client may send (frames.ts documents each option). */
export const meetInbound = z.union([signalFrame, chatFrame]);
const frameSchema = meetInbound;
type Frame = z.infer<typeof frameSchema>;

interface MeetConn {
  roomId: number;
}

export interface MeetSocketDeps {
  core: Core;
  hub: Hub;
  log: Logger;
  metrics: Metrics;
  limits: ConnectionLimits;
}

export function createMeetSocket({ core, hub, log, metrics, limits }: MeetSocketDeps) {
  const endpoint = createWsEndpoint<MeetConn, Frame>({
    face: "meet",
    tokens: core.tokens,
    presence: core.presence,
    hub,
    log,
    metrics,
    limits,
    schema: frameSchema,
    handle,
    refusalFrame,
    render,
  });
  const committed = metrics.messagesCommitted.labels({ face: "meet" });

  async function handle(conn: WsConnection<MeetConn>, frame: Frame): Promise<void> {
    if (frame.type !== undefined && frame.type !== "chat") {
      // The server says who sent it; a client-supplied sender_id is dropped here.
      const { sender_id: _, ...payload } = frame as Record<string, unknown>;
      core.signals.relay({
        roomId: conn.data.roomId,
        fromUserId: conn.user.id,
        fromConnection: conn.id,
        targetUserId: (frame as { target?: number }).target,
        payload,
      });
      return;
    }
    const { content, client_id } = frame as z.infer<typeof chatFrame>;
    const { message, duplicate } = await core.groups.send(
      conn.data.roomId,
      conn.user.id,
      content,
      client_id,
    );
    if (!duplicate) committed.inc();
    if (duplicate) {
      // A retry of a stored message: nothing is broadcast, so the sender alone hears it again,
      // as it was stored (its echoed client_id is the acknowledgement).
      const [author] = await core.accounts.getMany([message.authorId]);
      conn.send(JSON.stringify(meetChatFrame(message, author)));
    }
  }

  /** The spec drops bad frames without a word; only "slow down" is worth telling a client. */
  function refusalFrame(_conn: WsConnection<MeetConn>, refusal: Refusal): string | undefined {
    const retryAfter = refusal.reason === "throttled" || refusal.reason === "busy"
      ? refusal.retryAfter
      : refusal.reason === "refused" && refusal.error instanceof RateLimited
      ? refusal.error.retryAfter
      : undefined;
    if (retryAfter === undefined) return undefined;
    return JSON.stringify({
      type: "error",
      code: "throttled",
      detail: tooFast(retryAfter),
      retry_after: retryAfter,
    });
  }

  function render(event: DomainEvent, name: string, conns: WsConnection<MeetConn>[]): void {
    switch (event.type) {
      case "message.created":
        if (name !== topic.room(event.message.roomId)) return;
        // Rendered once for the whole room; sent in the order the core published (= commit).
        sendAll(conns, JSON.stringify(meetChatFrame(event.message, event.author)));
        break;
      case "signal.relayed": {
        const { signal } = event;
        if (name !== topic.room(signal.roomId)) return;
        const frame = JSON.stringify({ ...signal.payload, sender_id: signal.fromUserId });
        for (const conn of conns) {
          if (conn.id === signal.fromConnection) continue;
          if (signal.targetUserId !== undefined && conn.user.id !== signal.targetUserId) continue;
          conn.send(frame);
        }
        break;
      }
      case "room.updated":
        if (!event.room.isActive && name === topic.room(event.room.id)) {
          for (const conn of conns) conn.close(CLOSE.gone, "room deleted");
        }
        break;
    }
  }

  const routes = new Hono<AppEnv>().get("/ws/chat/:id{[0-9]+}/", async (c) => {
    const auth = await endpoint.authenticate(c.req.raw);
    c.set("principal", auth.principal);
    const room = await core.groups.enter(Number(c.req.param("id")), auth.principal.user.id);
    return endpoint.accept(c.req.raw, auth, {
      data: { roomId: room.id },
      topics: [topic.room(room.id)],
    });
  });

  return {
    routes,
    stats: endpoint.stats,
    /** Open connections in a room (tests and metrics). */
    count: (roomId: number) => endpoint.onTopic(topic.room(roomId)).length,
    close: endpoint.close,
  };
}

export type MeetSocket = ReturnType<typeof createMeetSocket>;
