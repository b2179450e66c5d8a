// The Engine.IO v4 endpoint: handshakes, routing of polling requests and WebSocket upgrades
// to their sessions, the protocol's HTTP errors, and CORS.
import {
  type ConnInfo,
  corsHeaders,
  type EngineError,
  type EngineOptions,
  errorResponse,
  ERRORS,
  randomId,
  tooManyPendingResponse,
} from "./options.ts";
import { Heartbeat } from "./heartbeat.ts";
import {
  EngineSession,
  type HandshakeRequest,
  type PollResult,
  type SessionOwner,
} from "./session.ts";

export type { ConnInfo };

export class EngineServer implements SessionOwner {
  readonly sessions = new Map<string, EngineSession>();
  /** Called for every new session, before its first packet is read. */
  onSession: (session: EngineSession) => void = () => {};
  /** Wakes every session's ping and pong deadline with one timer. */
  readonly heartbeat: Heartbeat;
  /** Sessions not yet accepted by the layer above, by client address. */
  readonly #pending = new Map<string, number>();
  #closed = false;

  constructor(readonly opts: EngineOptions) {
    this.heartbeat = new Heartbeat(Heartbeat.resolutionFor(opts.pingInterval, opts.pingTimeout));
  }

  async handle(req: Request, info?: ConnInfo): Promise<Response> {
    const cors = this.opts.cors;
    if (req.method === "OPTIONS") {
      return new Response(null, {
        status: 204,
        headers: {
          ...corsHeaders(req, cors),
          "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
          "Access-Control-Allow-Headers": req.headers.get("access-control-request-headers") ??
            "content-type",
          "Access-Control-Max-Age": "600",
        },
      });
    }
    const fail = (error: EngineError) => errorResponse(req, cors, error);
    const query = new URL(req.url).searchParams;
    const transport = query.get("transport");
    const sid = query.get("sid");
    const upgrade = req.headers.get("upgrade")?.toLowerCase() === "websocket";

    if (query.get("EIO") !== "4") return fail(ERRORS.UNSUPPORTED_PROTOCOL_VERSION);
    if (transport !== "polling" && transport !== "websocket") {
      return fail(ERRORS.UNKNOWN_TRANSPORT);
    }
    if ((transport === "websocket") !== upgrade) return fail(ERRORS.BAD_REQUEST);

    if (sid === null) {
      if (req.method !== "GET") return fail(ERRORS.BAD_HANDSHAKE_METHOD);
      if (this.#closed) return fail(ERRORS.FORBIDDEN);
      if (this.opts.allowRequest && !await this.opts.allowRequest(req)) {
        return fail(ERRORS.FORBIDDEN);
      }
      const address = this.opts.addressOf?.(req, info) ?? info?.remoteAddr?.hostname ?? "";
      const pending = this.#pending.get(address) ?? 0;
      if (pending >= (this.opts.maxPendingPerAddress ?? Infinity)) {
        await req.body?.cancel();
        return tooManyPendingResponse(req, cors);
      }
      return this.#handshake(req, transport, address);
    }

    const session = this.sessions.get(sid);
    if (!session) return fail(ERRORS.UNKNOWN_SID);
    if (transport === "websocket") {
      const { socket, response } = Deno.upgradeWebSocket(req, { idleTimeout: 0 });
      session.probe(socket);
      return response;
    }
    if (session.transport !== "polling") return fail(ERRORS.BAD_REQUEST);
    if (req.method === "GET") return this.#pollResponse(req, await session.poll(req.signal));
    if (req.method === "POST") return this.#pollResponse(req, await session.post(req), "text/html");
    return fail(ERRORS.BAD_REQUEST);
  }

  /** How many sessions of `address` are pending now (extension, for limits and tests). */
  pendingOf(address: string): number {
    return this.#pending.get(address) ?? 0;
  }

  async #handshake(
    req: Request,
    transport: "polling" | "websocket",
    address: string,
  ): Promise<Response> {
    const request: HandshakeRequest = {
      url: req.url,
      // A copy: after an upgrade Deno closes the request, and its headers with it.
      headers: Object.fromEntries(req.headers),
      address,
      secure: req.url.startsWith("https:"),
      time: Date.now(),
    };
    const id = randomId();
    let session: EngineSession;
    let response: Response | undefined;
    // Counted before the session exists: a session can end inside its constructor.
    this.#pending.set(address, this.pendingOf(address) + 1);
    if (transport === "websocket") {
      const upgraded = Deno.upgradeWebSocket(req, { idleTimeout: 0 });
      response = upgraded.response;
      session = new EngineSession(id, request, this, upgraded.socket);
    } else {
      session = new EngineSession(id, request, this);
    }
    if (session.readyState === "open") this.sessions.set(id, session);
    this.onSession(session);
    if (response) return response;
    // The open packet is already buffered, so this poll answers at once.
    return this.#pollResponse(req, await session.poll(new AbortController().signal));
  }

  #pollResponse(req: Request, result: PollResult, type = "text/plain; charset=UTF-8"): Response {
    const headers = corsHeaders(req, this.opts.cors);
    if (!result.ok) {
      if (result.status === 413) {
        return new Response("Payload Too Large", { status: 413, headers });
      }
      return errorResponse(req, this.opts.cors, ERRORS.BAD_REQUEST);
    }
    return new Response(result.body, { headers: { ...headers, "Content-Type": type } });
  }

  _settled(session: EngineSession): void {
    const address = session.request.address;
    const left = this.pendingOf(address) - 1;
    if (left > 0) this.#pending.set(address, left);
    else this.#pending.delete(address);
  }

  _closed(session: EngineSession): void {
    if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
  }

  /** Closes every session (their clients see the server going away) and refuses new ones. */
  close(): void {
    this.#closed = true;
    for (const session of [...this.sessions.values()]) session.close("server shutting down");
    this.heartbeat.stop();
  }
}
