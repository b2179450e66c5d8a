// The inbox face's WebSockets, on the raw-WebSocket kit:
// - /ws/{username}/: the conversation with that person (the core's direct room of the two).
//   Opening it sends online_user_list, then user_join to every socket of the conversation;
//   chat_message frames are committed through the core and then sent to both people's
//   conversation sockets; read_messages moves the reader's read pointer.
// - /ws/notifications/{username}/: the unread count of that one conversation, and a nudge when
//   the other person writes.
// - /ws/notifications/: the unread count over every room, and a nudge for each new message.
// This file only translates; the core decides who may talk where.
import { Hono } from "hono";
import { z } from "zod";
import type { Core } from "@/lib/core.ts";
import { ChatError, ValidationError } from "@/lib/errors.ts";
import { type DomainEvent, topic } from "@/lib/events.ts";
import { LIMITS } from "@/lib/limits.ts";
import type { Logger } from "@/lib/log.ts";
import type { Metrics } from "@/lib/metrics.ts";
import type { Attachment, Room, User } from "@/lib/records.ts";
import type { Hub } from "@/realtime/hub.ts";
import {
  type ConnectionLimits,
  createWsEndpoint,
  type Refusal,
  type UpgradeAuth,
  type WsConnection,
} from "@/realtime/ws/mod.ts";
import type { AppEnv } from "@/routes/context.ts";
import { schemaError } from "@/routes/validation.ts";
import { detailOf, retryAfterOf, tooFast } from "@/routes/wording.ts";
import { createUnreadCounts } from "./counts.ts";
import { chatMessageFrame } from "./json.ts";

/** Strings the spec sends empty when unused; bounded like every field. */
const optionalText = (max: number) => z.string().max(max).nullish();

const chatMessage = z.object({
  type: z.literal("chat_message"),
  message: z.string().default(""),
  multimedia_url: optionalText(LIMITS.image),
  file_identifier: optionalText(LIMITS.fileIdentifier),
  multimedia_url_expiration: optionalText(64),
  room: optionalText(LIMITS.username * 2 + 1),
  /** The sender's own id for this message: a retry with the same id is stored once. */
  client_id: z.string().min(1).max(LIMITS.clientId).optional(),
});

const readMessages = z.object({ type: z.literal("read_messages") });

/** Every frame a client may send (frames.ts documents each option). */
export const inboxInbound = z.discriminatedUnion("type", [chatMessage, readMessages]);
const frameSchema = inboxInbound;
type Frame = z.infer<typeof frameSchema>;

/** What each kind of inbox socket knows about itself. */
export type InboxConn =
  | {
    kind: "conversation";
    room: Room;
    other: User;
    /** Base of absolute URLs in its frames: PUBLIC_URL or the origin it connected to. */
    base: string;
    /** Its user was online (any face) before it opened. */
    wasOnline: boolean;
    /** Uncounts it from the conversation (room presence); set once it is open. */
    leave?: () => void;
  }
  /** `shown`: the count it was sent last (a recount that finds the same says nothing). */
  | { kind: "conversation_count"; roomId: number; otherId: number; shown?: number }
  | { kind: "count"; shown?: number };

export interface InboxSocketDeps {
  core: Core;
  hub: Hub;
  log: Logger;
  metrics: Metrics;
  limits: ConnectionLimits;
  /** Base of absolute URLs (PUBLIC_URL); the origin each socket connected to when unset. */
  publicUrl?: string;
}

const ERROR_TEXT = {
  malformed: "Frames must be JSON objects.",
  notifications: "Notification sockets do not take messages.",
  room: "This conversation is with the person in the URL; `room` names someone else.",
  multimedia: "A multimedia_url needs the file_identifier of your upload.",
} as const;

function errorFrame(detail: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ type: "error", detail, ...extra });
}

export function createInboxSocket(deps: InboxSocketDeps) {
  const { core, log } = deps;
  const endpoint = createWsEndpoint<InboxConn, Frame>({
    face: "inbox",
    tokens: core.tokens,
    presence: core.presence,
    hub: deps.hub,
    log,
    metrics: deps.metrics,
    limits: deps.limits,
    schema: frameSchema,
    handle,
    refusalFrame,
    render,
    onOpen,
    onClose: (conn) => conn.data.kind === "conversation" && conn.data.leave?.(),
  });

  const counts = createUnreadCounts(
    core,
    (userId) => endpoint.onTopic(topic.user(userId)).flatMap((c) => countTarget(c) ?? []),
    log,
  );

  /** A notification socket as the counter sees it; undefined for a conversation socket. */
  function countTarget(conn: WsConnection<InboxConn>) {
    const data = conn.data;
    if (data.kind === "conversation") return undefined;
    const type = data.kind === "count" ? "unread_count" : "single_conversation_unread_count";
    return {
      roomId: data.kind === "conversation_count" ? data.roomId : undefined,
      show(count: number) {
        if (data.shown === count) return;
        data.shown = count;
        conn.send(JSON.stringify({ type, unread_count: count }));
      },
    };
  }

  function onOpen(conn: WsConnection<InboxConn>): void {
    const data = conn.data;
    const target = countTarget(conn);
    if (target) {
      counts.first(conn.user.id, target).catch((error) => {
        log.error("unread count failed", { face: "inbox", user_id: conn.user.id, error });
      });
      return;
    }
    if (data.kind !== "conversation") return;
    // Who of the two is online (on any face), not counting this socket: the original listed the
    // others before announcing the opener.
    const users = [
      ...(data.wasOnline ? [conn.user.username] : []),
      ...(core.presence.isOnline(data.other.id) ? [data.other.username] : []),
    ];
    conn.send(JSON.stringify({ type: "online_user_list", users }));
    data.leave = core.presence.enterRoom(data.room.id, conn.user.id);
  }

  async function handle(conn: WsConnection<InboxConn>, frame: Frame): Promise<void> {
    const data = conn.data;
    if (data.kind !== "conversation") {
      conn.send(errorFrame(ERROR_TEXT.notifications));
      return;
    }
    if (frame.type === "read_messages") {
      await core.messages.markRead(data.room.id, conn.user.id);
      return;
    }
    // The URL decides the conversation; a `room` naming anyone else is refused, not obeyed.
    if (frame.room && !roomNames(conn.user, data.other).has(frame.room)) {
      throw ValidationError.of("room", { code: "worded", text: ERROR_TEXT.room });
    }
    let attachment: Attachment | undefined;
    if (frame.file_identifier) {
      attachment = await core.uploads.claim(frame.file_identifier, conn.user.id);
    } else if (frame.multimedia_url) {
      throw ValidationError.of("file_identifier", { code: "worded", text: ERROR_TEXT.multimedia });
    }
    const { message, duplicate } = await core.messages.send({
      roomId: data.room.id,
      authorId: conn.user.id,
      text: frame.message,
      attachment,
      clientId: frame.client_id,
    });
    if (!duplicate) deps.metrics.messagesCommitted.inc({ face: "inbox" });
    if (duplicate) {
      // A retry of a stored message: nothing is broadcast again; the sender alone hears it.
      const [stored] = message.attachmentId === null
        ? []
        : [(await core.uploads.views([message.attachmentId])).get(message.attachmentId)];
      conn.send(chatMessageFrame(data.base, message, conn.user, data.other.username, stored));
    }
  }

  function refusalFrame(_conn: WsConnection<InboxConn>, refusal: Refusal): string {
    switch (refusal.reason) {
      case "malformed":
        return errorFrame(ERROR_TEXT.malformed);
      case "invalid":
        return errorFrame(detailOf(schemaError(refusal.issues)));
      case "throttled":
      case "busy":
        return errorFrame(tooFast(refusal.retryAfter), { retry_after: refusal.retryAfter });
      case "refused": {
        const error = refusal.error;
        if (!(error instanceof ChatError)) return errorFrame("A server error occurred.");
        const retryAfter = retryAfterOf(error);
        return errorFrame(
          detailOf(error),
          retryAfter === undefined ? {} : {
            retry_after: retryAfter,
          },
        );
      }
    }
  }

  function render(event: DomainEvent, name: string, conns: WsConnection<InboxConn>[]): void {
    switch (event.type) {
      case "message.created":
        if (name === topic.room(event.message.roomId)) onMessage(event, conns);
        break;
      case "room.joined":
      case "room.left":
        if (name === topic.room(event.roomId)) onRoomPresence(event, conns);
        break;
      case "read.updated":
        // Published on the room and on the reader; counted once, from the reader's topic.
        if (name === topic.user(event.userId)) counts.schedule(event.userId);
        break;
      case "room.created":
        // A new conversation of this user: the all-rooms count follows it from now on.
        for (const conn of conns) {
          if (conn.data.kind === "count") endpoint.listen(conn, topic.room(event.room.id));
        }
        break;
      case "member.added":
        if (name !== topic.user(event.member.userId)) return;
        for (const conn of conns) {
          if (conn.data.kind === "count") endpoint.listen(conn, topic.room(event.member.roomId));
        }
        break;
    }
  }

  function onMessage(
    event: Extract<DomainEvent, { type: "message.created" }>,
    conns: WsConnection<InboxConn>[],
  ): void {
    const { message, author, attachment } = event;
    // One frame per base URL (in practice one): rendered once, sent to every tab of both people.
    const frames = new Map<string, string>();
    const toCount = new Set<number>();
    for (const conn of conns) {
      const data = conn.data;
      if (data.kind === "conversation") {
        let frame = frames.get(data.base);
        if (frame === undefined) {
          const receiver = author.id === conn.user.id ? data.other.username : conn.user.username;
          frame = chatMessageFrame(data.base, message, author, receiver, attachment);
          frames.set(data.base, frame);
        }
        conn.send(frame);
        continue;
      }
      if (conn.user.id === author.id) continue;
      if (data.kind === "conversation_count") {
        if (data.otherId !== author.id) continue;
        conn.send(NUDGE.conversation);
      } else conn.send(NUDGE.all);
      toCount.add(conn.user.id);
    }
    for (const userId of toCount) counts.schedule(userId);
  }

  function onRoomPresence(
    event: Extract<DomainEvent, { type: "room.joined" | "room.left" }>,
    conns: WsConnection<InboxConn>[],
  ): void {
    let frame: string | undefined;
    for (const conn of conns) {
      const data = conn.data;
      if (data.kind !== "conversation") continue;
      if (frame === undefined) {
        const user = event.userId === conn.user.id ? conn.user : data.other;
        const type = event.type === "room.joined" ? "user_join" : "user_leave";
        frame = JSON.stringify({ type, user: user.username });
      }
      conn.send(frame);
    }
  }

  /** The person a socket URL names, resolved before the upgrade (404/400 otherwise). */
  async function conversationWith(auth: UpgradeAuth, username: string) {
    return await core.rooms.directByUsername(auth.principal.user.id, username);
  }

  const baseOf = (req: Request) => deps.publicUrl ?? new URL(req.url).origin;

  // Notifications first: /ws/notifications/ would otherwise read as a conversation with a
  // user named "notifications" (a reserved name, so it would be refused).
  const routes = new Hono<AppEnv>()
    .get("/ws/notifications/", async (c) => {
      const auth = await endpoint.authenticate(c.req.raw);
      c.set("principal", auth.principal);
      const userId = auth.principal.user.id;
      const rooms: string[] = [];
      const pages = core.rooms.pagesForUser(userId, undefined, { max: LIMITS.followedRooms });
      for await (const page of pages) rooms.push(...page.map((r) => topic.room(r.id)));
      return endpoint.accept(c.req.raw, auth, { data: { kind: "count" }, topics: rooms });
    })
    .get("/ws/notifications/:username/", async (c) => {
      const auth = await endpoint.authenticate(c.req.raw);
      c.set("principal", auth.principal);
      const { room, other } = await conversationWith(auth, c.req.param("username"));
      return endpoint.accept(c.req.raw, auth, {
        data: { kind: "conversation_count", roomId: room.id, otherId: other.id },
        topics: [topic.room(room.id)],
      });
    })
    .get("/ws/:username/", async (c) => {
      const auth = await endpoint.authenticate(c.req.raw);
      c.set("principal", auth.principal);
      const { room, other } = await conversationWith(auth, c.req.param("username"));
      return endpoint.accept(c.req.raw, auth, {
        data: {
          kind: "conversation",
          room,
          other,
          base: baseOf(c.req.raw),
          wasOnline: core.presence.isOnline(auth.principal.user.id),
        },
        topics: [topic.room(room.id)],
      });
    });

  return {
    routes,
    stats: endpoint.stats,
    /** Open sockets onto a conversation, of every kind (tests and metrics). */
    count: (roomId: number) => endpoint.onTopic(topic.room(roomId)).length,
    close: endpoint.close,
  };
}

export type InboxSocket = ReturnType<typeof createInboxSocket>;

const NUDGE = {
  conversation: JSON.stringify({ type: "single_conversation_new_message_notification" }),
  all: JSON.stringify({ type: "new_message_notification" }),
} as const;

/** What a sender may put in `room`: the peer's username, or the conversation's name. */
function roomNames(me: User, other: User): Set<string> {
  return new Set([
    other.username,
    `${other.username}-${me.username}`,
    `${me.username}-${other.username}`,
  ]);
}
