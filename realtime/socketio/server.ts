// The Socket.IO v5 server over our Engine.IO v4 endpoint. Shaped like socket.io's server:
// `io.of(name)`, `io.use`, `io.on("connection")`, `io.to(room).emit`, and `io.handler()` for
// Deno.serve.
import { type AdapterFactory, memoryAdapter, RECOVERY_LIMITS } from "./adapter.ts";
import type { RecoveryStoreFactory } from "./recovery.ts";
import type { BroadcastOperator, SocketInfo } from "./broadcast.ts";
import { isClientFile, serveClientFile } from "./bundle.ts";
import { Client } from "./client.ts";
import { type CorsOptions, ENGINE_DEFAULTS, type EngineOptions } from "./engine/options.ts";
import { type ConnInfo, EngineServer } from "./engine/server.ts";
import { type Middleware, Namespace } from "./namespace.ts";
import type { Handshake, Listener, Socket } from "./socket.ts";

export interface RecoveryOptions {
  /** How long a dropped client's state and missed broadcasts are kept (ms). Default 2 min. */
  maxDisconnectionDuration?: number;
  /**
   * Skip middlewares for a recovered connection. Default true. With false they run on every
   * recovery and see the state asked for; see Namespace._add and Socket.startFresh().
   */
  skipMiddlewares?: boolean;
  /** Most broadcasts kept for replay, per namespace (extension). Default 10,000. */
  maxEvents?: number;
  /** Most bytes of encoded broadcasts kept for replay, per namespace (extension). Default 16 MiB. */
  maxBytes?: number;
  /** Most dropped clients' states kept, per namespace (extension). Default 10,000. */
  maxSessions?: number;
  /**
   * Which clients take part (extension), decided from the handshake of each CONNECT (its
   * `auth` included). Default: every client, as in socket.io. A client left out gets no `pid`
   * and no offset after its events' arguments, so handlers of fixed arity (other languages'
   * clients) get exactly what was emitted; a broadcast to both kinds is encoded once per kind.
   */
  optIn?: (handshake: Handshake) => boolean;
  /**
   * Where the log and the dropped clients' states live (extension). Default: this process's
   * memory; `redisRecoveryStore({ url })` lets a client resume on another node.
   */
  store?: RecoveryStoreFactory;
}

export interface SocketServerOptions {
  path?: string;
  pingInterval?: number;
  pingTimeout?: number;
  maxPayload?: number;
  upgradeTimeout?: number;
  /** Bytes queued for one slow client before it is disconnected. */
  maxBufferedBytes?: number;
  /** A client must join a namespace this soon after connecting (ms). Default 45 s. */
  connectTimeout?: number;
  cors?: CorsOptions;
  connectionStateRecovery?: boolean | RecoveryOptions;
  adapter?: AdapterFactory;
  /** Serve the browser client at <path>socket.io.js and friends. Default true. */
  serveClient?: boolean;
  allowRequest?: EngineOptions["allowRequest"];
  /** The client's address (extension); see EngineOptions.addressOf. Default: the TCP peer. */
  addressOf?: EngineOptions["addressOf"];
  /**
   * Most Engine.IO sessions one address may hold before joining any namespace (extension);
   * beyond it a handshake gets HTTP 429 with Retry-After. Default: no cap.
   */
  maxPendingPerAddress?: number;
  /** Where exceptions from handlers and middlewares go. Default: console.error. */
  onError?: (err: unknown, context: { socket?: Socket; event?: string }) => void;
}

export class SocketServer {
  readonly engine: EngineServer;
  readonly path: string;
  readonly connectTimeout: number;
  readonly recovery:
    | Required<Omit<RecoveryOptions, "store">> & Pick<RecoveryOptions, "store">
    | undefined;
  readonly adapterFactory: AdapterFactory;
  readonly #namespaces = new Map<string, Namespace>();
  readonly #serveClient: boolean;
  readonly #onError: NonNullable<SocketServerOptions["onError"]>;
  /** Extension, for metrics: told how many event packets were written to sockets. */
  onDelivered: (packets: number) => void = () => {};

  constructor(opts: SocketServerOptions = {}) {
    const path = (opts.path ?? ENGINE_DEFAULTS.path).replace(/\/?$/, "/");
    this.path = path;
    this.connectTimeout = opts.connectTimeout ?? 45_000;
    this.adapterFactory = opts.adapter ?? memoryAdapter;
    this.#serveClient = opts.serveClient ?? true;
    this.#onError = opts.onError ?? ((err) => console.error("socket.io handler failed:", err));
    const recovery = opts.connectionStateRecovery;
    const given: RecoveryOptions = recovery === true ? {} : recovery || {};
    this.recovery = recovery
      ? {
        maxDisconnectionDuration: given.maxDisconnectionDuration ?? 120_000,
        skipMiddlewares: given.skipMiddlewares ?? true,
        maxEvents: given.maxEvents ?? RECOVERY_LIMITS.maxEvents,
        maxBytes: given.maxBytes ?? RECOVERY_LIMITS.maxBytes,
        maxSessions: given.maxSessions ?? RECOVERY_LIMITS.maxSessions,
        optIn: given.optIn ?? (() => true),
        store: given.store,
      }
      : undefined;
    this.engine = new EngineServer({
      path,
      pingInterval: opts.pingInterval ?? ENGINE_DEFAULTS.pingInterval,
      pingTimeout: opts.pingTimeout ?? ENGINE_DEFAULTS.pingTimeout,
      maxPayload: opts.maxPayload ?? ENGINE_DEFAULTS.maxPayload,
      upgradeTimeout: opts.upgradeTimeout ?? ENGINE_DEFAULTS.upgradeTimeout,
      maxBufferedBytes: opts.maxBufferedBytes ?? ENGINE_DEFAULTS.maxBufferedBytes,
      cors: opts.cors ?? ENGINE_DEFAULTS.cors,
      allowRequest: opts.allowRequest,
      addressOf: opts.addressOf,
      maxPendingPerAddress: opts.maxPendingPerAddress,
    });
    this.engine.onSession = (session) => new Client(this, session);
    this.of("/");
  }

  /** The namespace called `name`, created on first use. */
  of(name: string): Namespace {
    const key = name.startsWith("/") ? name : `/${name}`;
    let nsp = this.#namespaces.get(key);
    if (!nsp) this.#namespaces.set(key, nsp = new Namespace(this, key));
    return nsp;
  }

  _namespace(name: string): Namespace | undefined {
    return this.#namespaces.get(name);
  }

  get sockets(): Namespace {
    return this.of("/");
  }

  use(middleware: Middleware): this {
    this.sockets.use(middleware);
    return this;
  }

  on(event: "connection", listener: (socket: Socket) => unknown): this;
  on(event: string, listener: Listener): this;
  on(event: string, listener: Listener): this {
    this.sockets.on(event, listener);
    return this;
  }

  to(room: string | string[]): BroadcastOperator {
    return this.sockets.to(room);
  }

  in(room: string | string[]): BroadcastOperator {
    return this.sockets.in(room);
  }

  except(room: string | string[]): BroadcastOperator {
    return this.sockets.except(room);
  }

  get volatile(): BroadcastOperator {
    return this.sockets.volatile;
  }

  timeout(ms: number): BroadcastOperator {
    return this.sockets.timeout(ms);
  }

  emit(event: string, ...args: unknown[]): true {
    return this.sockets.emit(event, ...args);
  }

  fetchSockets(): Promise<SocketInfo[]> {
    return this.sockets.fetchSockets();
  }

  socketsJoin(room: string | string[]): void {
    this.sockets.socketsJoin(room);
  }

  socketsLeave(room: string | string[]): void {
    this.sockets.socketsLeave(room);
  }

  disconnectSockets(close = false): void {
    this.sockets.disconnectSockets(close);
  }

  serverSideEmit(event: string, ...args: unknown[]): true {
    return this.sockets.serverSideEmit(event, ...args);
  }

  serverSideEmitWithAck(event: string, ...args: unknown[]): Promise<unknown[]> {
    return this.sockets.serverSideEmitWithAck(event, ...args);
  }

  /** True when `url`'s path is this server's (so a combined handler can route to it). */
  handles(url: URL | string): boolean {
    const pathname = typeof url === "string" ? new URL(url).pathname : url.pathname;
    return pathname === this.path || pathname === this.path.slice(0, -1) ||
      pathname.startsWith(this.path);
  }

  /** A request handler that Deno.serve can run by itself; 404 outside the path. */
  handler(): (req: Request, info?: ConnInfo) => Response | Promise<Response> {
    return (req, info) => {
      const url = new URL(req.url);
      if (!this.handles(url)) return new Response("Not Found", { status: 404 });
      const rest = url.pathname.slice(this.path.length);
      if (rest !== "" && this.#serveClient && isClientFile(rest) && req.method === "GET") {
        return serveClientFile(req, rest);
      }
      return this.engine.handle(req, info);
    };
  }

  _report(err: unknown, socket?: Socket, event?: string): void {
    this.#onError(err, { socket, event });
  }

  /** Disconnects every client (they see the server going away) and refuses new ones. */
  async close(): Promise<void> {
    this.engine.close();
    await Promise.all([...this.#namespaces.values()].map((nsp) => nsp.adapter.close()));
  }
}
