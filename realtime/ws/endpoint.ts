// A raw-WebSocket endpoint: the kit every raw face is written on. It authenticates before the
// upgrade (or, for a face whose clients send credentials in their first frame, by that frame), is the one place that calls Deno.upgradeWebSocket, keeps the connections in a
// registry fed by the hub, counts them in presence, closes them when their session or account
// ends, and checks, orders and bounds what they send. A face brings its frame schema, its
// handler, its wording of refusals and its rendering of hub events; nothing else.
import type { z } from "zod";
import { AuthenticationError, ChatError } from "@/lib/errors.ts";
import { type DomainEvent, topic } from "@/lib/events.ts";
import type { Logger } from "@/lib/log.ts";
import type { Metrics } from "@/lib/metrics.ts";
import type { Presence } from "@/lib/presence.ts";
import type { Principal } from "@/lib/records.ts";
import {
  looksLikeJwt,
  offeredProtocols,
  tokenFromRequest,
  type TokenSources,
} from "../credentials.ts";
import type { Hub } from "../hub.ts";
import { CLOSE } from "./close_codes.ts";
import { type ConnectionLimits, type Refusal, WsConnection } from "./connection.ts";
import { awaitFirstFrame, type FirstFrameSpec } from "./first_frame.ts";
import { ConnectionRegistry } from "./registry.ts";

export interface UpgradeAuth {
  principal: Principal;
  /** The subprotocol to answer with, when the client offered any. */
  protocol?: string;
}

export interface WsEndpointOptions<D, F> {
  /** The face's name, in logs and metrics. */
  face: string;
  tokens: { authenticate(token: string): Promise<Principal> };
  presence: Presence;
  hub: Hub;
  log: Logger;
  metrics: Metrics;
  limits: ConnectionLimits;
  /** Where a token may come from besides the Authorization header (default: all of them). */
  sources?: TokenSources;
  /** What a client may send: each text frame is JSON checked by this schema. */
  schema: z.ZodType<F>;
  /** Handles one checked frame; a connection's frames are handled one at a time, in order. */
  handle(conn: WsConnection<D>, frame: F): Promise<void> | void;
  /** The face's answer to a refused frame, or undefined to drop it without a word. */
  refusalFrame(conn: WsConnection<D>, refusal: Refusal): string | undefined;
  /** Renders one hub event for the connections listening to `topic`: once per event. */
  render(event: DomainEvent, topic: string, conns: WsConnection<D>[]): void;
  onOpen?(conn: WsConnection<D>): void;
  onClose?(conn: WsConnection<D>): void;
}

/** How often a connection's refused frames are logged: once, then once per this many ms. */
const WARN_EVERY_MS = 10_000;

/** Sends one frame to each connection, leaving out `except`. */
export function sendAll<D>(
  conns: Iterable<WsConnection<D>>,
  frame: string,
  except?: WsConnection<D>,
) {
  for (const conn of conns) if (conn !== except) conn.send(frame);
}

export function isUpgrade(req: Request): boolean {
  return req.headers.get("upgrade")?.toLowerCase() === "websocket";
}

export function createWsEndpoint<D, F>(options: WsEndpointOptions<D, F>) {
  const { face, log, metrics } = options;
  const sources = options.sources ?? { query: true, protocol: true, cookie: true };
  const registry = new ConnectionRegistry<D>(options.hub, deliver);
  const warned = new WeakMap<WsConnection<D>, { until: number; suppressed: number }>();
  const open = metrics.connections.labels({ face, transport: "websocket" });
  const delivered = metrics.deliveries.labels({ face });

  function deliver(event: DomainEvent, name: string): void {
    if (event.type === "session.revoked" && name === topic.user(event.userId)) {
      for (const conn of registry.ofUser(event.userId)) {
        if (conn.sessionId === event.sessionId) conn.close(CLOSE.signedOut, "signed out");
      }
      return;
    }
    if (event.type === "user.deactivated" && name === topic.user(event.userId)) {
      for (const conn of registry.ofUser(event.userId)) {
        conn.close(CLOSE.signedOut, "account deactivated");
      }
      return;
    }
    const conns = registry.onTopic(name);
    if (conns.length > 0) options.render(event, name, conns);
  }

  /** Logs a connection's refused frames once, then at most once per WARN_EVERY_MS. */
  function warn(conn: WsConnection<D>, refusal: Refusal): void {
    const now = Date.now();
    const state = warned.get(conn);
    if (state && now < state.until) {
      state.suppressed++;
      return;
    }
    warned.set(conn, { until: now + WARN_EVERY_MS, suppressed: 0 });
    const fields = {
      face,
      user_id: conn.user.id,
      reason: refusal.reason,
      suppressed: state?.suppressed ?? 0,
    };
    if (refusal.reason === "refused" && !(refusal.error instanceof ChatError)) {
      log.error("frame handler failed", { ...fields, error: refusal.error });
    } else log.warn("refused a frame", fields);
  }

  function refuse(conn: WsConnection<D>, refusal: Refusal): void {
    metrics.refusedFrames.inc({ face, reason: refusalReason(refusal) });
    warn(conn, refusal);
    try {
      const frame = options.refusalFrame(conn, refusal);
      if (frame !== undefined) conn.send(frame);
    } catch (error) {
      // Runs inside the socket's message event: a throw there would end the process.
      log.error("refusal frame failed", { face, error });
    }
  }

  /**
   * Who is asking, before any upgrade: a valid access token from the Authorization header, the
   * query, a subprotocol or the session cookie. Throws AuthenticationError (an HTTP 401).
   */
  async function authenticate(req: Request): Promise<UpgradeAuth> {
    const token = tokenFromRequest(req, sources);
    if (!token) throw new AuthenticationError("not_authenticated");
    const principal = await options.tokens.authenticate(token);
    // The handshake must echo one offered subprotocol: a real one if any, else the token.
    const offered = offeredProtocols(req);
    const protocol = offered.find((p) => !looksLikeJwt(p)) ?? offered.find((p) => p === token);
    return { principal, protocol };
  }

  /**
   * Upgrades an authenticated request. `topics` are the hub topics the connection listens to
   * (its user's topic is added); `data` is the face's own. A non-upgrade request gets a 426.
   */
  function accept(
    req: Request,
    auth: UpgradeAuth,
    spec: { data: D; topics: string[] },
  ): Response {
    if (!isUpgrade(req)) {
      return Response.json({ detail: "Expected a WebSocket upgrade." }, { status: 426 });
    }
    const { socket, response } = Deno.upgradeWebSocket(
      req,
      auth.protocol ? { protocol: auth.protocol } : {},
    );
    start(socket, auth.principal, spec);
    return response;
  }

  /** Registers an upgraded socket as a connection of `principal` and starts reading it. */
  function start(
    socket: WebSocket,
    principal: Principal,
    spec: { data: D; topics: string[] },
    backlog?: unknown[],
  ): void {
    const topics = [...new Set([topic.user(principal.user.id), ...spec.topics])];
    const conn = new WsConnection<D>(socket, principal, spec.data, topics, options.limits);
    let release: (() => void) | undefined;
    conn._start({
      schema: options.schema,
      handle: (frame) => options.handle(conn, frame),
      refuse: (refusal) => refuse(conn, refusal),
      slow: () => metrics.slowConsumers.inc({ face }),
      sent: () => delivered.inc(),
      closed() {
        if (!release) return; // never opened: nothing was registered
        open.dec();
        registry.remove(conn);
        release();
        try {
          options.onClose?.(conn);
        } catch (error) {
          log.error("close handler failed", { face, error });
        }
      },
    }, () => {
      registry.add(conn);
      open.inc();
      release = options.presence.connect(conn.user.id);
      try {
        options.onOpen?.(conn);
      } catch (error) {
        log.error("open handler failed", { face, error });
      }
    }, backlog);
  }

  /**
   * Upgrades a request that carries no credentials: its first frame initialises it (see
   * first_frame.ts). Until then it is in no registry and no presence; `spec.refuse` words a
   * failed init. A non-upgrade request gets a 426.
   */
  function acceptByFirstFrame<I>(
    req: Request,
    spec: FirstFrameSpec<I, D> & { refuse(refusal: Refusal): string | undefined },
  ): Response {
    if (!isUpgrade(req)) {
      return Response.json({ detail: "Expected a WebSocket upgrade." }, { status: 426 });
    }
    const { socket, response } = Deno.upgradeWebSocket(req);
    awaitFirstFrame(socket, options.limits, spec, {
      refuse(refusal) {
        metrics.refusedFrames.inc({ face, reason: `init_${refusalReason(refusal)}` });
        if (refusal.reason === "refused" && !(refusal.error instanceof ChatError)) {
          log.error("socket init failed", { face, error: refusal.error });
        }
        try {
          return spec.refuse(refusal);
        } catch (error) {
          log.error("refusal frame failed", { face, error });
          return undefined;
        }
      },
      ready: (result, backlog) => start(socket, result.principal, result, backlog),
    });
    return response;
  }

  return {
    authenticate,
    accept,
    acceptByFirstFrame,
    /** Starts delivering `topic` to an open connection (a room it just joined). */
    listen: (conn: WsConnection<D>, name: string) => registry.addTopic(conn, name),
    /** Stops delivering `topic` to a connection (a room it left). */
    unlisten: (conn: WsConnection<D>, name: string) => registry.removeTopic(conn, name),
    /** The open connections of a user. */
    ofUser: (userId: number) => registry.ofUser(userId),
    /** The open connections on a topic (tests, and faces that answer one of them). */
    onTopic: (name: string) => registry.onTopic(name),
    stats: () => registry.stats(),
    /** Tells every connection the server is going away (1001) and stops listening. */
    close(): void {
      for (const conn of registry.all()) conn.close(CLOSE.goingAway, "server shutting down");
      registry.close();
    },
  };
}

function refusalReason(refusal: Refusal): string {
  if (refusal.reason !== "refused") return refusal.reason;
  return refusal.error instanceof ChatError ? refusal.error.code : "error";
}
