// The desk face over Socket.IO (default namespace). Incoming events are validated and handed
// to the core; what the core publishes comes back through the hub, is rendered once per event,
// and is sent to a Socket.IO room named after the hub topic (`room:42`, `user:7`,
// `role:teacher`). Payloads with absolute URLs are rendered once per base URL among their
// recipients: PUBLIC_URL, or the origin each client connected to (never another client's).
// Connection state recovery is for clients that ask (`auth.recover: true`); a recovery passes
// the same authentication as a new connection, resumes only its own login session's state, and
// a revoked session's or deactivated user's kept state is forgotten at once.
import { z } from "zod";
import type { Core } from "@/lib/core.ts";
import { isTeacher } from "@/lib/desk.ts";
import { AuthenticationError, ChatError, ValidationError } from "@/lib/errors.ts";
import { type DomainEvent, topic } from "@/lib/events.ts";
import { LIMITS } from "@/lib/limits.ts";
import type { Logger } from "@/lib/log.ts";
import type { Metrics } from "@/lib/metrics.ts";
import type { User } from "@/lib/records.ts";
import { cookieValue, sameOrigin, SESSION_COOKIE } from "@/realtime/credentials.ts";
import type { Hub } from "@/realtime/hub.ts";
import { InboundGate, type InboundLimits } from "@/realtime/inbound.ts";
import type { Handshake, Socket, SocketServer } from "@/realtime/socketio/mod.ts";
import { createTopicBridge } from "@/realtime/topic_bridge.ts";
import { schemaError } from "@/routes/validation.ts";
import { detailOf, fieldErrors, retryAfterOf, tooFast } from "@/routes/wording.ts";
import { absoluteImage, deskMessageEvent, deskRoom } from "./json.ts";

export interface DeskSocketOptions {
  core: Core;
  hub: Hub;
  log: Logger;
  metrics: Metrics;
  /** What one socket may send: events per second, burst, and events in progress. */
  inbound: InboundLimits;
  /** Base for absolute image URLs; by default the origin each client connects to. */
  publicUrl?: string;
}

const roomId = z.union([
  z.number().int().positive(),
  z.string().regex(/^\d+$/, "A valid integer is required.").transform(Number),
]);
const roomPayload = z.object({ room: roomId });
const messagePayload = z.object({
  room: roomId,
  text: z.string().default(""),
  image: z.string().max(LIMITS.image).default(""),
  client_id: z.string().min(1).max(LIMITS.clientId).optional(),
});

interface DeskData {
  user: User;
  sessionId: string;
  roomIds: number[];
  /** Where this client reaches us: the base of the absolute URLs it is sent. */
  base: string;
}

interface RefusalBody {
  event: string;
  detail: string;
  code: string;
  fields?: Record<string, string[]>;
  /** Seconds to wait before trying again (throttled, busy). */
  retry_after?: number;
}

const roomTopic = (id: number) => topic.room(id);
const roomIdOf = (name: string) => name.startsWith("room:") ? Number(name.slice(5)) : undefined;
const baseRoom = (base: string) => `base:${base}`;
const HOST = /^[\w.-]+(:\d{1,5})?$|^\[[\da-f:.]+\](:\d{1,5})?$/i;

/** The origin a client used, from its handshake; the default for a Host that is no host. */
function originOf(handshake: Handshake): string {
  const host = handshake.headers.host ?? "";
  if (!HOST.test(host)) return "http://localhost";
  return `${handshake.secure ? "https" : "http"}://${host.toLowerCase()}`;
}

/** How a refusal reads to a desk client: the DRF detail and code, and the fields when bad input. */
function refusal(event: string, err: unknown): RefusalBody {
  if (err instanceof ValidationError) {
    return { event, detail: detailOf(err), code: err.code, fields: fieldErrors(err) };
  }
  if (err instanceof ChatError) {
    const retryAfter = retryAfterOf(err);
    const body: RefusalBody = { event, detail: detailOf(err), code: err.code };
    if (retryAfter !== undefined) body.retry_after = retryAfter;
    return body;
  }
  return { event, detail: "A server error occurred.", code: "error" };
}

/** A refusal as connect_error carries it: the DRF detail as its message. */
function worded(err: ChatError): Error {
  return new Error(detailOf(err));
}

export function attachDeskSocket(io: SocketServer, opts: DeskSocketOptions): () => void {
  const { core, hub, log, metrics } = opts;
  const nsp = io.of("/");

  const bridge = createTopicBridge(hub, render);
  bridge.ensure(topic.everyone);

  /**
   * User topics kept subscribed after the user's last socket dropped, for as long as it may be
   * recovered: a logout or deactivation meanwhile must still reach us to forget its state.
   */
  const lingering = new Map<string, ReturnType<typeof setTimeout>>();
  const recoveryWindow = io.recovery?.maxDisconnectionDuration ?? 0;

  function linger(name: string): void {
    clearTimeout(lingering.get(name));
    const timer = setTimeout(() => {
      lingering.delete(name);
      if (!nsp.adapter.rooms.has(name)) bridge.drop(name);
    }, recoveryWindow);
    Deno.unrefTimer(timer);
    lingering.set(name, timer);
  }

  /** Forgets the kept recovery states that `match` picks: they can never be resumed. */
  function forgetKept(match: (data: DeskData) => boolean): void {
    nsp.adapter.dropSessions((state) => {
      const data = state.data as Partial<DeskData> | undefined;
      return data?.user !== undefined && match(data as DeskData);
    });
  }

  function socketsIn(room: string): Socket[] {
    const ids = nsp.adapter.rooms.get(room) ?? [];
    return [...ids].map((id) => nsp.sockets.get(id)).filter((s) => s !== undefined);
  }

  /**
   * Emits an event whose payload holds absolute URLs: rendered once per base URL among the
   * sockets in `rooms` (one, with PUBLIC_URL), each rendering sent only to its own clients.
   */
  function emitPerBase(
    rooms: string[],
    except: string[],
    event: string,
    shape: (base: string) => unknown,
  ): void {
    if (opts.publicUrl) return void nsp.to(rooms).except(except).emit(event, shape(opts.publicUrl));
    const bases = new Set<string>();
    for (const room of rooms) {
      for (const socket of socketsIn(room)) bases.add((socket.data as unknown as DeskData).base);
    }
    for (const base of bases) {
      const others = [...bases].filter((b) => b !== base).map(baseRoom);
      nsp.to(rooms).except([...except, ...others]).emit(event, shape(base));
    }
  }

  function render(event: DomainEvent, name: string): void {
    if (name !== topic.everyone && !nsp.adapter.rooms.has(name) && !lingering.has(name)) {
      return bridge.drop(name);
    }
    switch (event.type) {
      case "message.created":
        nsp.to(name).emit("message", deskMessageEvent(event.message));
        break;
      case "read.updated":
        if (name === roomTopic(event.roomId)) {
          nsp.to(name).emit("seen", { room: event.roomId, user: event.userId });
        }
        break;
      case "room.status": {
        const { room, teacher } = event;
        const inRoom = name === roomTopic(room.id);
        // Sent to the room and to the teacher's user room; the latter skips sockets that
        // are in the room already, so nobody gets two copies.
        const except = inRoom ? [] : [roomTopic(room.id)];
        if (room.status === "engaged" && teacher) {
          emitPerBase([name], except, "room_joined", (base) => ({
            room: room.id,
            teacher: {
              id: teacher.id,
              first_name: teacher.firstName,
              last_name: teacher.lastName,
              image: absoluteImage(teacher.image, base),
            },
            status: room.status,
          }));
        } else if (room.status === "closed" && inRoom) {
          nsp.to(name).emit("room_closed", { status: room.status, room: room.id });
          nsp.in(name).socketsLeave(name);
          bridge.drop(name);
        }
        break;
      }
      case "room.announced": {
        const people = new Map(
          [event.student, event.teacher].filter((u) => u !== null)
            .map((u) => [u.id, u]),
        );
        emitPerBase([name], [], "new_room", (base) => deskRoom(event.room, people, base));
        break;
      }
      case "session.revoked":
        forgetKept((data) => data.sessionId === event.sessionId);
        for (const socket of socketsIn(topic.user(event.userId))) {
          if ((socket.data as unknown as DeskData).sessionId === event.sessionId) {
            socket.disconnect(true);
          }
        }
        break;
      case "user.deactivated":
        forgetKept((data) => data.user.id === event.userId);
        nsp.in(name).disconnectSockets(true);
        break;
      case "presence.changed":
        if (name === topic.everyone) announcePresence(event.userId, event.online);
        break;
    }
  }

  function announcePresence(userId: number, online: boolean): void {
    core.desk.openRoomIds(userId).then((ids) => {
      const rooms = ids.map(roomTopic).filter((t) => nsp.adapter.rooms.has(t));
      if (rooms.length > 0) nsp.to(rooms).emit(online ? "online" : "offline", { user: userId });
    }).catch((error) => log.error("desk presence failed", { error }));
  }

  /** `online` only announces arrivals; a new socket also needs who is already there. */
  function tellWhoIsOnline(socket: Socket, userId: number, roomIds: number[]): void {
    Promise.all(roomIds.map((id) => core.rooms.members(id))).then((lists) => {
      const told = new Set<number>();
      for (const member of lists.flat()) {
        if (member.userId === userId || told.has(member.userId)) continue;
        if (!core.presence.isOnline(member.userId)) continue;
        told.add(member.userId);
        socket.emit("online", { user: member.userId });
      }
    }).catch((error) => log.error("desk presence failed", { error }));
  }

  function join(socket: Socket | undefined, userId: number, topics: string[]): void {
    if (socket) socket.join(topics);
    nsp.in(topic.user(userId)).socketsJoin(topics);
    for (const t of topics) bridge.ensure(t);
  }

  // Who is connecting: an access token in `auth` (or, for the same-origin pages, the session
  // cookie), and when `auth.id` is given it must be the token's user. Recoveries come through
  // here too, and resume only a state of the login session presented now.
  nsp.use(async (socket, next) => {
    const kept = socket.recovered ? socket.data as unknown as Partial<DeskData> : undefined;
    const auth = socket.handshake.auth;
    const headers = socket.handshake.headers;
    let token = typeof auth.access_token === "string"
      ? auth.access_token
      : typeof auth.token === "string"
      ? auth.token
      : undefined;
    if (token === undefined) {
      // The cookie only counts from our own pages: a cross-site page must not ride on it.
      if (sameOrigin(headers.origin, headers.host)) {
        token = cookieValue(headers.cookie, SESSION_COOKIE);
      }
    }
    if (!token) return next(worded(new AuthenticationError("not_authenticated")));
    try {
      const principal = await core.tokens.authenticate(token);
      if (auth.id !== undefined && String(auth.id) !== String(principal.user.id)) {
        return next(new Error("The token does not belong to this user id."));
      }
      // Another login's state (a pid that leaked, or another device): a new connection instead.
      if (kept && kept.sessionId !== principal.sessionId) socket.startFresh();
      const data: DeskData = {
        user: principal.user,
        sessionId: principal.sessionId,
        roomIds: await core.desk.openRoomIds(principal.user.id),
        base: opts.publicUrl ?? originOf(socket.handshake),
      };
      socket.data = data as unknown as Record<string, unknown>;
      next();
    } catch (err) {
      next(err instanceof ChatError ? worded(err) : new Error("A server error occurred."));
    }
  });

  nsp.on("connection", (socket) => {
    const data = socket.data as unknown as DeskData;
    const user = data.user;
    socket.join(baseRoom(data.base));
    join(socket, user.id, [
      topic.user(user.id),
      ...data.roomIds.map(roomTopic),
      ...(isTeacher(user) ? [topic.role("teacher")] : []),
    ]);
    const release = core.presence.connect(user.id);
    tellWhoIsOnline(socket, user.id, data.roomIds);
    const gate = new InboundGate(opts.inbound);
    let leaving: string[] = [];
    socket.on("disconnecting", () => leaving = [...socket.rooms]);
    socket.on("disconnect", () => {
      // Lingering first: releasing presence publishes to the user topic, which would drop it.
      const mine = topic.user(user.id);
      for (const t of leaving) {
        if (nsp.adapter.rooms.has(t)) continue;
        if (t === mine && socket.pid !== undefined && recoveryWindow > 0) linger(t);
        else bridge.drop(t);
      }
      release();
    });

    /** Registers a handler: validated payload in, result out through the ack; refusals too. */
    function handle<T>(event: string, schema: z.ZodType<T>, fn: (payload: T) => Promise<unknown>) {
      socket.on(event, async (...args: unknown[]) => {
        const ack = typeof args[args.length - 1] === "function"
          ? args.pop() as (reply: unknown) => void
          : undefined;
        const answer = (reply: RefusalBody) =>
          ack ? ack({ error: reply }) : socket.emit("error", reply);
        const admission = gate.admit();
        if (!admission.ok) {
          metrics.refusedFrames.inc({ face: "desk", reason: admission.reason });
          return answer({
            event,
            detail: tooFast(admission.retryAfter),
            code: "throttled",
            retry_after: admission.retryAfter,
          });
        }
        try {
          const parsed = schema.safeParse(args[0] ?? {});
          if (!parsed.success) throw schemaError(parsed.error.issues);
          const result = await fn(parsed.data);
          ack?.(result);
        } catch (err) {
          if (!(err instanceof ChatError)) {
            log.error("desk event failed", { event, user_id: user.id, error: err });
          }
          answer(refusal(event, err));
        } finally {
          admission.done();
        }
      });
    }

    handle("join_room", roomPayload, async ({ room }) => {
      const result = await core.desk.join(room, user.id);
      join(socket, user.id, [roomTopic(room)]);
      return { room, status: result.room.status, joined: result.joined };
    });

    handle("close_room", roomPayload, async ({ room }) => {
      const closed = await core.desk.close(room, user.id);
      return { room, status: closed.status };
    });

    handle("message", messagePayload, async ({ room, text, image, client_id }) => {
      const { message } = await core.messages.send({
        roomId: room,
        authorId: user.id,
        text,
        image,
        clientId: client_id,
      });
      const payload = deskMessageEvent(message);
      if (!socket.rooms.has(roomTopic(room))) {
        // Not in the room yet (it was opened over REST without new_room): the broadcast
        // missed this socket, so it gets its message directly, and the room from now on.
        socket.emit("message", payload);
        join(socket, user.id, [roomTopic(room)]);
      }
      return payload;
    });

    handle("seen", roomPayload, async ({ room }) => {
      const lastReadId = await core.desk.markSeen(room, user.id);
      return { room, user: user.id, last_read_id: lastReadId };
    });

    handle("new_room", roomPayload, async ({ room }) => {
      // The core tells the teachers (room.announced); the student answers from its own view.
      const { room: found, student, teacher } = await core.desk.announce(room, user.id);
      join(socket, user.id, [roomTopic(room)]);
      const people = new Map([student, teacher].filter((u) => u !== null).map((u) => [u.id, u]));
      return deskRoom(found, people, data.base);
    });

    handle("rooms", z.unknown(), () => {
      const rooms = [...socket.rooms].map(roomIdOf).filter((id) => id !== undefined);
      socket.emit("rooms", { rooms });
      return Promise.resolve({ rooms });
    });
  });

  return () => {
    for (const timer of lingering.values()) clearTimeout(timer);
    lingering.clear();
    bridge.close();
  };
}
