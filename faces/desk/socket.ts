// The desk face over Socket.IO (specs/desk.md, default namespace). Incoming events are
// validated and handed to core.desk / core.messages; what the core publishes comes back
// through the hub, is rendered once per event, and is sent to a Socket.IO room named after
// the hub topic (`room:42`, `user:7`, `role:teacher`).
import { z } from "zod";
import type { Core } from "@/lib/core.ts";
import { isTeacher } from "@/lib/desk.ts";
import { AuthenticationError, ChatError, ValidationError } from "@/lib/errors.ts";
import { type DomainEvent, topic } from "@/lib/events.ts";
import type { Logger } from "@/lib/log.ts";
import type { User } from "@/lib/records.ts";
import { cookieValue, SESSION_COOKIE } from "@/realtime/credentials.ts";
import { absoluteImage, deskMessageEvent, deskRoom, peopleOf } from "./json.ts";
import { schemaError } from "@/routes/validation.ts";
import { detailOf, fieldErrors } from "@/routes/wording.ts";
import type { Hub } from "@/realtime/hub.ts";
import type { Presence } from "@/lib/presence.ts";
import type { Socket, SocketServer } from "@/realtime/socketio/mod.ts";
import { createTopicBridge } from "@/realtime/topic_bridge.ts";

export interface DeskSocketOptions {
  core: Core;
  hub: Hub;
  presence: Presence;
  log: Logger;
  /** Base for absolute image URLs; by default the origin clients connect to. */
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
  image: z.string().max(2048).default(""),
  client_id: z.string().min(1).max(64).optional(),
});

interface DeskData {
  user: User;
  sessionId: string;
  roomIds: number[];
}

const roomTopic = (id: number) => topic.room(id);
const roomIdOf = (name: string) => name.startsWith("room:") ? Number(name.slice(5)) : undefined;

function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false; // "null" and other opaque origins
  }
}

/** How a refusal reads, in every face's words: a detail and, for bad input, the fields. */
function refusal(
  err: unknown,
): { detail: string; code: string; fields?: Record<string, string[]> } {
  if (err instanceof ValidationError) {
    return { detail: detailOf(err), code: err.code, fields: fieldErrors(err) };
  }
  if (err instanceof ChatError) return { detail: detailOf(err), code: err.code };
  return { detail: "A server error occurred.", code: "error" };
}

/** A refusal as connect_error carries it: the DRF detail as its message. */
function worded(err: ChatError): Error {
  return new Error(detailOf(err));
}

export function attachDeskSocket(io: SocketServer, opts: DeskSocketOptions): () => void {
  const { core, hub, presence, log } = opts;
  const nsp = io.of("/");
  let base = opts.publicUrl ?? "http://localhost";

  const bridge = createTopicBridge(hub, render);
  bridge.ensure(topic.everyone);

  function render(event: DomainEvent, name: string): void {
    if (name !== topic.everyone && !nsp.adapter.rooms.has(name)) return bridge.drop(name);
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
        const to = inRoom ? nsp.to(name) : nsp.to(name).except(roomTopic(room.id));
        if (room.status === "engaged" && teacher) {
          to.emit("room_joined", {
            room: room.id,
            teacher: {
              id: teacher.id,
              first_name: teacher.firstName,
              last_name: teacher.lastName,
              image: absoluteImage(teacher.image, base),
            },
            status: room.status,
          });
        } else if (room.status === "closed" && inRoom) {
          to.emit("room_closed", { status: room.status, room: room.id });
          nsp.in(name).socketsLeave(name);
          bridge.drop(name);
        }
        break;
      }
      case "session.revoked":
        for (const socket of nsp.sockets.values()) {
          if ((socket.data as Partial<DeskData>).sessionId === event.sessionId) {
            socket.disconnect(true);
          }
        }
        break;
      case "user.deactivated":
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
        if (!presence.isOnline(member.userId)) continue;
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
  // cookie), and when `auth.id` is given it must be the token's user.
  nsp.use(async (socket, next) => {
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
        token = cookieValue(headers.cookie ?? null, SESSION_COOKIE);
      }
    }
    if (!token) return next(worded(new AuthenticationError("not_authenticated")));
    try {
      const principal = await core.tokens.authenticate(token);
      if (auth.id !== undefined && String(auth.id) !== String(principal.user.id)) {
        return next(new Error("The token does not belong to this user id."));
      }
      const data: DeskData = {
        user: principal.user,
        sessionId: principal.sessionId,
        roomIds: await core.desk.openRoomIds(principal.user.id),
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
    if (!opts.publicUrl && socket.handshake.headers.host) {
      base = `${socket.handshake.secure ? "https" : "http"}://${socket.handshake.headers.host}`;
    }
    join(socket, user.id, [
      topic.user(user.id),
      ...data.roomIds.map(roomTopic),
      ...(isTeacher(user) ? [topic.role("teacher")] : []),
    ]);
    const release = presence.connect(user.id);
    tellWhoIsOnline(socket, user.id, data.roomIds);
    let leaving: string[] = [];
    socket.on("disconnecting", () => leaving = [...socket.rooms]);
    socket.on("disconnect", () => {
      release();
      for (const t of leaving) if (!nsp.adapter.rooms.has(t)) bridge.drop(t);
    });

    /** Registers a handler: validated payload in, result out through the ack; refusals too. */
    function handle<T>(event: string, schema: z.ZodType<T>, fn: (payload: T) => Promise<unknown>) {
      socket.on(event, async (...args: unknown[]) => {
        const ack = typeof args[args.length - 1] === "function"
          ? args.pop() as (reply: unknown) => void
          : undefined;
        try {
          const parsed = schema.safeParse(args[0] ?? {});
          if (!parsed.success) throw schemaError(parsed.error.issues);
          const result = await fn(parsed.data);
          ack?.(result);
        } catch (err) {
          if (!(err instanceof ChatError)) {
            log.error("desk event failed", { event, user_id: user.id, error: err });
          }
          const reply = { event, ...refusal(err) };
          if (ack) ack({ error: reply });
          else socket.emit("error", reply);
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
      const found = await core.desk.announce(room, user.id);
      join(socket, user.id, [roomTopic(room)]);
      const people = new Map(
        (await core.accounts.getMany(peopleOf([found]))).map((u) => [u.id, u]),
      );
      const shaped = deskRoom(found, people, base);
      nsp.to(topic.role("teacher")).emit("new_room", shaped);
      return shaped;
    });

    handle("rooms", z.unknown(), () => {
      const rooms = [...socket.rooms].map(roomIdOf).filter((id) => id !== undefined);
      socket.emit("rooms", { rooms });
      return Promise.resolve({ rooms });
    });
  });

  return () => bridge.close();
}
