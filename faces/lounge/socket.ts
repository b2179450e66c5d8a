// The lounge face's one WebSocket, /socket (specs/lounge.md). The upgrade needs no credentials:
// the first frame `{"token"}` initialises the socket (realtime/ws/first_frame.ts), and every
// later frame carries the token again, which must be the same user's. Room and group messages
// go through the core (committed, then published) and come back from the hub as
// room_chat_message / group_chat_message to every socket listening to the room, the sender's
// included (that frame is the sender's acknowledgement). The bot's answer is not awaited in the
// frame handler: it is sent to the asking socket when it comes, a few at a time per socket.
import { Hono } from "hono";
import { z } from "zod";
import type { Core } from "@/lib/core.ts";
import { AuthenticationError, ChatError, RateLimited, ValidationError } from "@/lib/errors.ts";
import { type DomainEvent, topic } from "@/lib/events.ts";
import { LIMITS } from "@/lib/limits.ts";
import type { Logger } from "@/lib/log.ts";
import type { Metrics } from "@/lib/metrics.ts";
import type { VerifiedToken } from "@/lib/tokens.ts";
import { type Message, otherMember, type Room, type User } from "@/lib/records.ts";
import type { Hub } from "@/realtime/hub.ts";
import {
  type ConnectionLimits,
  createWsEndpoint,
  type Refusal,
  sendAll,
  type WsConnection,
} from "@/realtime/ws/mod.ts";
import type { AppEnv } from "@/routes/context.ts";
import { schemaError } from "@/routes/validation.ts";
import { detailOf, fieldErrors, tooFast } from "@/routes/wording.ts";
import { botMessage, groupMessage, roomMessage } from "./json.ts";
import { groupActivity, WORDS } from "./wording.ts";

/**
 * Bot answers one socket may wait for at once; more are refused until one comes (the core also
 * takes one turn per user at a time).
 */
export const BOT_IN_FLIGHT = 1;
/** Failed init frames before the socket is closed (4401). */
export const INIT_ATTEMPTS = 3;

const token = z.string().min(1).max(LIMITS.token);
/** The first frame: who the socket is. */
export const initFrame = z.looseObject({ token });
/** Every later frame: a message to a room, a group or the bot. */
export const chatFrame = z.looseObject({
  token,
  chat_type: z.string().max(16),
  message: z.string(),
  other_user_id: z.number().int().positive().optional(),
  chat_group_id: z.number().int().positive().optional(),
});
type ChatFrame = z.infer<typeof chatFrame>;

type RoomKind = "room" | "group";

interface LoungeConn {
  /** The rooms it listens to, and what lounge calls each. */
  rooms: Map<number, RoomKind>;
  /** The token its frames were last signed with (verified; the same one is not looked up). */
  verified: VerifiedToken;
  /** Bot answers this socket is waiting for. */
  botInFlight: number;
}

/** The bot chat of the core (lib/bot/), as this face uses it. */
export interface LoungeBot {
  botUser(): Promise<User>;
  send(userId: number, text: string): Promise<{ user: Message; bot: Message }>;
}

export interface LoungeSocketDeps {
  core: Core;
  hub: Hub;
  log: Logger;
  metrics: Metrics;
  limits: ConnectionLimits;
  /** Seconds a socket may stay open before its init frame. */
  initTimeout: number;
  /** The bot; without it, bot frames are refused. */
  bot?: LoungeBot;
}

/** A socket already waiting for BOT_IN_FLIGHT answers. */
class BotBusy extends RateLimited {
  constructor() {
    super(1);
  }
}

const required = (field: string) => ValidationError.of(field, { code: "required" });

export function createLoungeSocket(deps: LoungeSocketDeps) {
  const { core, hub, log, metrics, limits, bot } = deps;
  const committed = metrics.messagesCommitted.labels({ face: "lounge" });
  const endpoint = createWsEndpoint<LoungeConn, ChatFrame>({
    face: "lounge",
    tokens: core.tokens,
    presence: core.presence,
    hub,
    log,
    metrics,
    limits,
    schema: chatFrame,
    handle,
    refusalFrame: (_conn, refusal) => errorFrame(refusal),
    render,
  });

  let botId: number | undefined;
  async function botUserId(): Promise<number | undefined> {
    if (!bot) return undefined;
    return botId ??= (await bot.botUser()).id;
  }

  /** Who the init frame names, and the rooms their socket starts listening to. */
  async function init(frame: z.infer<typeof initFrame>) {
    const verified = await core.tokens.authenticateAgain(frame.token, undefined);
    const principal = verified.principal;
    const userId = principal.user.id;
    const rooms = new Map<number, RoomKind>();
    const botUser = await botUserId();
    for (const room of await core.rooms.listForUser(userId)) {
      const kind = kindOf(room, userId, botUser);
      if (kind) rooms.set(room.id, kind);
    }
    const topics = [topic.everyone, ...[...rooms.keys()].map(topic.room)];
    return { principal, data: { rooms, verified, botInFlight: 0 }, topics };
  }

  /** What lounge calls a room, or undefined for rooms it does not show (bot chat, desk). */
  function kindOf(room: Room, userId: number, botUser: number | undefined): RoomKind | undefined {
    if (room.kind === "group") return "group";
    if (room.kind !== "direct") return undefined;
    return otherMember(room, userId) === botUser ? undefined : "room";
  }

  async function handle(conn: WsConnection<LoungeConn>, frame: ChatFrame): Promise<void> {
    const verified = await core.tokens.authenticateAgain(frame.token, conn.data.verified);
    if (verified.principal.user.id !== conn.user.id) {
      throw ValidationError.of("token", { code: "worded", text: WORDS.otherUser });
    }
    conn.data.verified = verified;
    const userId = conn.user.id;
    switch (frame.chat_type) {
      case "room": {
        if (frame.other_user_id === undefined) throw required("other_user_id");
        const room = await core.rooms.direct(userId, frame.other_user_id);
        await core.messages.send({ roomId: room.id, authorId: userId, text: frame.message });
        committed.inc();
        return;
      }
      case "group": {
        if (frame.chat_group_id === undefined) throw required("chat_group_id");
        // Groups only (another room's id is not found), members only (PermissionDenied).
        await core.messages.send({
          roomId: frame.chat_group_id,
          kind: "group",
          authorId: userId,
          text: frame.message,
        });
        committed.inc();
        return;
      }
      case "bot":
        return askBot(conn, frame.message);
      default:
        throw ValidationError.of("chat_type", { code: "worded", text: WORDS.unknownChatType });
    }
  }

  /** Starts the bot's answer; the socket's next frames are handled meanwhile. */
  function askBot(conn: WsConnection<LoungeConn>, text: string): void {
    if (!bot) throw ValidationError.of("chat_type", { code: "worded", text: WORDS.noBot });
    if (text.trim().length === 0) throw ValidationError.of("message", { code: "blank" });
    if (conn.data.botInFlight >= BOT_IN_FLIGHT) throw new BotBusy();
    conn.data.botInFlight++;
    bot.send(conn.user.id, text).then(({ user, bot: reply }) => {
      committed.inc(2); // the question and the answer
      const messages = [botMessage(user, conn.user.id), botMessage(reply, conn.user.id)];
      conn.send(JSON.stringify({ type: "bot_chat_message", messages }));
    }, (error) => {
      if (!(error instanceof ChatError)) log.error("bot chat failed", { face: "lounge", error });
      const text = errorFrame({ reason: "refused", error });
      if (text !== undefined) conn.send(text);
    }).finally(() => conn.data.botInFlight--);
  }

  /** Every refusal, worded as `{"type": "error", "code", "detail"}` (+ field errors). */
  function errorFrame(refusal: Refusal): string | undefined {
    switch (refusal.reason) {
      case "malformed":
        return frame({ code: "malformed", detail: WORDS.malformed });
      case "invalid":
        return frame(validationBody(schemaError(refusal.issues)));
      case "throttled":
      case "busy":
        return frame({
          code: "throttled",
          detail: tooFast(refusal.retryAfter),
          retry_after: refusal.retryAfter,
        });
      case "refused": {
        const error = refusal.error;
        if (error instanceof ValidationError) return frame(validationBody(error));
        if (error instanceof RateLimited) {
          const detail = error instanceof BotBusy ? WORDS.botBusy : tooFast(error.retryAfter);
          return frame({ code: "throttled", detail, retry_after: error.retryAfter });
        }
        if (error instanceof ChatError) return frame({ code: error.code, detail: detailOf(error) });
        return frame({ code: "error", detail: "A server error occurred." });
      }
    }
  }

  function validationBody(error: ValidationError) {
    // The core calls a message's text `text`; this face calls it `message`.
    const { text, ...rest } = fieldErrors(error);
    const errors = text ? { message: text, ...rest } : rest;
    const detail = Object.entries(errors).map(([f, m]) => `${f}: ${m.join(" ")}`).join("; ");
    return { code: "invalid", detail, errors };
  }

  function initRefusal(refusal: Refusal): string | undefined {
    if (refusal.reason === "refused" && refusal.error instanceof AuthenticationError) {
      return frame({ code: refusal.error.code, detail: detailOf(refusal.error) });
    }
    if (refusal.reason === "invalid") {
      return frame({ code: "not_initialised", detail: WORDS.notInitialised });
    }
    return errorFrame(refusal);
  }

  function render(event: DomainEvent, name: string, conns: WsConnection<LoungeConn>[]): void {
    switch (event.type) {
      case "message.created": {
        const roomId = event.message.roomId;
        if (name !== topic.room(roomId)) return;
        const kind = conns[0]?.data.rooms.get(roomId);
        if (kind === "room") {
          sendAll(conns, frame({ type: "room_chat_message", ...roomMessage(event.message) }));
        } else if (kind === "group") {
          sendAll(conns, frame({ type: "group_chat_message", ...groupMessage(event.message) }));
        }
        return;
      }
      case "presence.changed": {
        if (name !== topic.everyone) return;
        const text = frame({ type: "user_activity", user_id: event.userId, login: event.online });
        for (const conn of conns) if (conn.user.id !== event.userId) conn.send(text);
        return;
      }
      case "user.updated": {
        if (name !== topic.everyone) return;
        const { user } = event;
        sendAll(
          conns,
          frame({
            type: "user_update",
            user_id: user.id,
            first_name: user.firstName,
            last_name: user.lastName,
          }),
        );
        return;
      }
      case "room.created":
      case "room.updated": {
        const { room } = event;
        if (name === topic.everyone && room.kind === "group") {
          if (room.isActive) {
            sendAll(
              conns,
              frame({
                type: "group_chat_update",
                chat_group_id: room.id,
                name: room.name ?? "",
                owner_id: room.createdBy,
              }),
            );
          }
          // The creator is its first member: their sockets start listening.
          if (event.type === "room.created") {
            for (const conn of conns) {
              if (conn.user.id === room.createdBy) listen(conn, room.id, "group");
            }
          }
        } else if (event.type === "room.created" && room.kind === "direct") {
          // A new direct room of this user (topic user:N): listen before its first message.
          for (const conn of conns) {
            const kind = kindOf(room, conn.user.id, botId);
            if (kind && name === topic.user(conn.user.id)) listen(conn, room.id, kind);
          }
        }
        return;
      }
      case "member.added":
      case "member.removed": {
        const added = event.type === "member.added";
        const roomId = added ? event.member.roomId : event.roomId;
        const userId = added ? event.member.userId : event.userId;
        if (name === topic.room(roomId)) {
          if (conns[0]?.data.rooms.get(roomId) !== "group") return;
          const text = frame({
            type: "group_chat_activitity",
            chat_group_id: roomId,
            user_id: userId,
            is_enter: added,
            message: groupActivity(event.user, added),
          });
          for (const conn of conns) if (conn.user.id !== userId) conn.send(text);
        } else if (name === topic.user(userId)) {
          for (const conn of conns) {
            if (added) listen(conn, roomId, "group");
            else {
              conn.data.rooms.delete(roomId);
              endpoint.unlisten(conn, topic.room(roomId));
            }
          }
        }
        return;
      }
    }
  }

  function listen(conn: WsConnection<LoungeConn>, roomId: number, kind: RoomKind) {
    if (!conn.open) return;
    conn.data.rooms.set(roomId, kind);
    endpoint.listen(conn, topic.room(roomId));
  }

  const routes = new Hono<AppEnv>().get("/socket", (c) =>
    endpoint.acceptByFirstFrame(c.req.raw, {
      schema: initFrame,
      init,
      timeoutMs: deps.initTimeout * 1000,
      maxAttempts: INIT_ATTEMPTS,
      refuse: initRefusal,
    }));

  return {
    routes,
    stats: endpoint.stats,
    close: endpoint.close,
  };
}

export type LoungeSocket = ReturnType<typeof createLoungeSocket>;

function frame(body: Record<string, unknown>): string {
  return JSON.stringify("type" in body ? body : { type: "error", ...body });
}
