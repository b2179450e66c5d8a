// The desk face over Socket.IO (default namespace): who connects (socket_auth.ts), which hub
// topics the namespace listens to (socket_topics.ts), how what the core publishes reaches the
// clients (broadcasts.ts), and here the events clients send: validated, limited per socket,
// handed to the core, answered through the ack (or an `error` event).
// Connection state recovery is for clients that ask (`auth.recover: true`); a recovery passes
// the same authentication as a new connection, resumes only its own login session's state, and
// a revoked session's or deactivated user's kept state is forgotten at once.
import { z } from "zod";
import type { Core } from "@/lib/core.ts";
import { isTeacher } from "@/lib/desk.ts";
import { ChatError, ValidationError } from "@/lib/errors.ts";
import { type DomainEvent, topic } from "@/lib/events.ts";
import { LIMITS } from "@/lib/limits.ts";
import type { Logger } from "@/lib/log.ts";
import type { Metrics } from "@/lib/metrics.ts";
import type { Hub } from "@/realtime/hub.ts";
import { InboundGate, type InboundLimits } from "@/realtime/inbound.ts";
import type { Socket, SocketServer } from "@/realtime/socketio/mod.ts";
import { schemaError } from "@/routes/validation.ts";
import { detailOf, fieldErrors, retryAfterOf, tooFast } from "@/routes/wording.ts";
import { baseRoom, deskBroadcasts, peopleMap } from "./broadcasts.ts";
import { deskMessageEvent, deskRoom } from "./json.ts";
import { deskAuth, deskData } from "./socket_auth.ts";
import { createDeskTopics } from "./socket_topics.ts";

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

/** Every event a client may emit, with the schema of its payload (frames.ts documents them). */
export const deskInbound = {
  join_room: roomPayload,
  close_room: roomPayload,
  message: messagePayload,
  seen: roomPayload,
  new_room: roomPayload,
  rooms: z.unknown(),
} as const;

interface RefusalBody {
  event: string;
  detail: string;
  code: string;
  fields?: Record<string, string[]>;
  /** Seconds to wait before trying again (throttled, busy). */
  retry_after?: number;
}

const roomIdOf = (name: string) => name.startsWith("room:") ? Number(name.slice(5)) : undefined;

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

export function attachDeskSocket(io: SocketServer, opts: DeskSocketOptions): () => void {
  const { core, hub, log, metrics } = opts;
  const committed = metrics.messagesCommitted.labels({ face: "desk" });
  // Every packet the Socket.IO server writes is desk's (no other face uses it).
  const delivered = metrics.deliveries.labels({ face: "desk" });
  io.onDelivered = (packets) => delivered.inc(packets);
  metrics.beforeScrape(() => {
    const open = { polling: 0, websocket: 0 };
    for (const socket of nsp.sockets.values()) open[socket.conn.transport]++;
    for (const [transport, n] of Object.entries(open)) {
      metrics.connections.set({ face: "desk", transport }, n);
    }
  });
  const nsp = io.of("/");
  let render = (_event: DomainEvent, _topic: string) => {};
  const topics = createDeskTopics(
    nsp,
    hub,
    io.recovery?.maxDisconnectionDuration ?? 0,
    (event, name) => render(event, name),
  );
  render = deskBroadcasts({ nsp, core, log, topics, publicUrl: opts.publicUrl });

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

  /** Puts the socket (and the user's other sockets) in `names`, and listens to those topics. */
  function join(socket: Socket, userId: number, names: string[]): void {
    socket.join(names);
    nsp.in(topic.user(userId)).socketsJoin(names);
    topics.ensure(names);
  }

  nsp.use(deskAuth(core, opts.publicUrl));

  nsp.on("connection", (socket) => {
    const data = deskData(socket);
    const user = data.user;
    socket.join(baseRoom(data.base));
    join(socket, user.id, [
      topic.user(user.id),
      ...data.roomIds.map(topic.room),
      ...(isTeacher(user) ? [topic.role("teacher")] : []),
    ]);
    const release = core.presence.connect(user.id);
    tellWhoIsOnline(socket, user.id, data.roomIds);
    const gate = new InboundGate(opts.inbound);
    let leaving: string[] = [];
    socket.on("disconnecting", () => leaving = [...socket.rooms]);
    socket.on("disconnect", () => {
      // Topics first: releasing presence publishes to the user topic, which must still linger.
      topics.left(leaving, topic.user(user.id), socket.pid !== undefined);
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

    handle("join_room", deskInbound.join_room, async ({ room }) => {
      const result = await core.desk.join(room, user.id);
      join(socket, user.id, [topic.room(room)]);
      return { room, status: result.room.status, joined: result.joined };
    });

    handle("close_room", deskInbound.close_room, async ({ room }) => {
      const closed = await core.desk.close(room, user.id);
      return { room, status: closed.status };
    });

    handle("message", deskInbound.message, async ({ room, text, image, client_id }) => {
      const { message, duplicate } = await core.messages.send({
        roomId: room,
        authorId: user.id,
        text,
        image,
        clientId: client_id,
      });
      if (!duplicate) committed.inc();
      const payload = deskMessageEvent(message);
      if (!socket.isIn(topic.room(room))) {
        // Not in the room yet (it was opened over REST without new_room): the broadcast
        // missed this socket, so it gets its message directly, and the room from now on.
        socket.emit("message", payload);
        join(socket, user.id, [topic.room(room)]);
      }
      return payload;
    });

    handle("seen", deskInbound.seen, async ({ room }) => {
      const lastReadId = await core.desk.markSeen(room, user.id);
      return { room, user: user.id, last_read_id: lastReadId };
    });

    handle("new_room", deskInbound.new_room, async ({ room }) => {
      // The core tells the teachers (room.announced); the student answers from its own view.
      const { room: found, student, teacher } = await core.desk.announce(room, user.id);
      join(socket, user.id, [topic.room(room)]);
      return deskRoom(found, peopleMap(student, teacher), data.base);
    });

    handle("rooms", deskInbound.rooms, () => {
      const rooms = [...socket.rooms].map(roomIdOf).filter((id) => id !== undefined);
      socket.emit("rooms", { rooms });
      return Promise.resolve({ rooms });
    });
  });

  return () => topics.close();
}
