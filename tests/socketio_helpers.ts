// Fixtures for the Socket.IO tests: a real server on an ephemeral port, the official client,
// and raw Engine.IO clients (WebSocket and long-polling) for what the official client won't do.
import {
  io as connect,
  type ManagerOptions,
  type Socket as ClientSocket,
  type SocketOptions,
} from "socket.io-client";
import { type Socket, SocketServer, type SocketServerOptions } from "@/realtime/socketio/mod.ts";

export type { ClientSocket, Socket };

// deno-lint-ignore no-explicit-any
type AnyListener = (...args: any[]) => void;

/** Anything with on/off: a server socket, a namespace, a client socket, a manager, an engine. */
export interface Emitter {
  on(event: string, listener: AnyListener): unknown;
  off(event: string, listener?: AnyListener): unknown;
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The arguments of the next `event` on `emitter`; rejects after `ms`. */
export function once<T extends unknown[] = unknown[]>(
  emitter: Emitter | object,
  event: string,
  ms = 5000,
): Promise<T> {
  const target = emitter as Emitter;
  const promise = new Promise<T>((resolve, reject) => {
    const listener = (...args: unknown[]) => {
      clearTimeout(timer);
      target.off(event, listener);
      resolve(args as T);
    };
    const timer = setTimeout(() => {
      target.off(event, listener);
      reject(new Error(`timed out after ${ms} ms waiting for "${event}"`));
    }, ms);
    target.on(event, listener);
  });
  // A test that fails before awaiting this must not also fail the whole file.
  promise.catch(() => {});
  return promise;
}

/** Polls `predicate` until it holds; fails after `ms`. */
export async function waitFor(
  predicate: () => boolean,
  ms = 5000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await delay(10);
  }
}

/** Resolves when the client socket connects, rejects with its connect_error. */
export function connected(client: ClientSocket, ms = 5000): Promise<void> {
  if (client.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      client.off("connect", onConnect);
      client.off("connect_error", onError);
    };
    const onConnect = () => {
      done();
      resolve();
    };
    const onError = (err: Error) => {
      done();
      reject(err);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out after ${ms} ms waiting for "connect"`));
    }, ms);
    client.on("connect", onConnect);
    client.on("connect_error", onError);
  });
}

/**
 * The two ways a client ends up talking to the server: long-polling only, or the default
 * (polling, then upgraded to WebSocket). Options for the client, and a wait until it is ready.
 */
export type Transport = "polling" | "websocket";

export function transportOptions(transport: Transport): ClientOptions {
  return transport === "polling" ? { transports: ["polling"] } : {};
}

/** Connected, and for "websocket" also upgraded (the client has switched transports). */
export async function connectedOver(
  client: ClientSocket,
  transport: Transport,
  ms = 5000,
): Promise<void> {
  await connected(client, ms);
  if (transport === "websocket" && client.io.engine.transport.name !== "websocket") {
    await once(client.io.engine, "upgrade", ms);
  }
  if (client.io.engine.transport.name !== transport) {
    throw new Error(`expected ${transport}, got ${client.io.engine.transport.name}`);
  }
}

/** The client's connect_error (fails if it connects instead). */
export function connectError(client: ClientSocket, ms = 5000): Promise<Error & { data?: unknown }> {
  return connected(client, ms).then(
    () => {
      throw new Error("connected, expected a connect_error");
    },
    (err: Error & { data?: unknown }) => {
      if (err.message.startsWith("timed out")) throw err;
      return err;
    },
  );
}

/** Every event a client receives, in order, as [event, ...args]. */
export function record(client: ClientSocket): unknown[][] {
  const seen: unknown[][] = [];
  client.onAny((event: string, ...args: unknown[]) => seen.push([event, ...args]));
  return seen;
}

/** Names of the recorded events. */
export function names(seen: unknown[][]): unknown[] {
  return seen.map(([event]) => event);
}

/** The bytes of a binary value, whatever its container (Buffer, Uint8Array, ArrayBuffer). */
export function bytes(value: unknown): number[] {
  if (value instanceof ArrayBuffer) return [...new Uint8Array(value)];
  if (ArrayBuffer.isView(value)) {
    return [...new Uint8Array(value.buffer, value.byteOffset, value.byteLength)];
  }
  throw new Error(`not binary: ${Object.prototype.toString.call(value)}`);
}

export function isBinary(value: unknown): boolean {
  return value instanceof ArrayBuffer || ArrayBuffer.isView(value);
}

/** The next "connection" on a namespace. */
export function nextConnection(io: SocketServer, nsp = "/", ms = 5000): Promise<Socket> {
  const promise = once<[Socket]>(io.of(nsp), "connection", ms).then(([socket]) => socket);
  promise.catch(() => {});
  return promise;
}

export type ClientOptions = Partial<ManagerOptions & SocketOptions>;

export interface Harness {
  io: SocketServer;
  server: Deno.HttpServer<Deno.NetAddr>;
  /** http://127.0.0.1:port */
  url: string;
  /** Everything the server's onError received. */
  errors: { err: unknown; event?: string }[];
  /** A new official client (own Manager, no reconnection unless asked), closed at the end. */
  client(nsp?: string, opts?: ClientOptions): ClientSocket;
  /** Another namespace over the same Manager (same Engine.IO connection) as `client`. */
  sibling(client: ClientSocket, nsp: string, opts?: Partial<SocketOptions>): ClientSocket;
  /** A raw Engine.IO WebSocket, closed at the end. */
  rawWs(query?: string): RawWs;
  /** A raw Engine.IO long-polling session (handshake done). */
  rawPolling(query?: string): Promise<RawPolling>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface HarnessOptions {
  /** Runs before the Socket.IO handler sees each request (e.g. to hold back an upgrade). */
  beforeRequest?: (req: Request) => void | Promise<void>;
}

/** A SocketServer on an ephemeral port. Use with `await using`. */
export function startIo(
  opts: SocketServerOptions = {},
  harness: HarnessOptions = {},
): Harness {
  const errors: Harness["errors"] = [];
  const io = new SocketServer({
    onError: (err, context) => errors.push({ err, event: context.event }),
    ...opts,
  });
  const handler = io.handler();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    async (req, info) => {
      await harness.beforeRequest?.(req);
      return handler(req, info);
    },
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  const clients: ClientSocket[] = [];
  const raws: RawWs[] = [];
  return {
    io,
    server,
    url,
    errors,
    client(nsp = "/", options = {}) {
      const client = connect(url + nsp, { forceNew: true, reconnection: false, ...options });
      clients.push(client);
      return client;
    },
    sibling(client, nsp, options = {}) {
      const socket = client.io.socket(nsp, options);
      clients.push(socket);
      return socket;
    },
    rawWs(query = "") {
      const raw = new RawWs(
        `ws://127.0.0.1:${server.addr.port}/socket.io/?EIO=4&transport=websocket${query}`,
      );
      raws.push(raw);
      return raw;
    },
    rawPolling(query = "") {
      return RawPolling.open(url, query);
    },
    async [Symbol.asyncDispose]() {
      for (const client of clients) client.disconnect();
      for (const client of clients) client.io.engine?.close();
      await Promise.all(raws.map((raw) => raw.close()));
      await io.close();
      await server.shutdown();
    },
  };
}

interface Waiter {
  predicate: (message: string) => boolean;
  resolve: (message: string) => void;
  reject: (err: Error) => void;
}

/** An Engine.IO v4 client over a plain WebSocket, speaking the text protocol by hand. */
export class RawWs {
  readonly ws: WebSocket;
  /** Every text message received, in order. */
  readonly received: string[] = [];
  readonly closed: Promise<CloseEvent>;
  /** Answer the server's pings ("2") with pongs ("3"). */
  autoPong = true;
  #waiters: Waiter[] = [];

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.closed = new Promise((resolve) => this.ws.addEventListener("close", resolve));
    this.closed.then((event) => {
      const err = new Error(`closed (${event.code} ${event.reason}) before the awaited message`);
      for (const waiter of this.#waiters.splice(0)) waiter.reject(err);
    });
    // Without a listener an error event would be reported as uncaught.
    this.ws.addEventListener("error", () => {});
    this.ws.addEventListener("message", (event) => {
      const message = typeof event.data === "string" ? event.data : "<binary>";
      if (message === "2" && this.autoPong && this.ws.readyState === WebSocket.OPEN) {
        this.ws.send("3");
      }
      this.received.push(message);
      for (const waiter of [...this.#waiters]) {
        if (waiter.predicate(message)) {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          waiter.resolve(message);
        }
      }
    });
  }

  /** The first message (already received or to come) that matches. */
  message(predicate: (message: string) => boolean, ms = 5000): Promise<string> {
    const seen = this.received.find(predicate);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      if (this.ws.readyState === WebSocket.CLOSED) {
        return reject(new Error("closed before the awaited message"));
      }
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`timed out after ${ms} ms waiting for a message`));
      }, ms);
      const waiter: Waiter = {
        predicate,
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.#waiters.push(waiter);
    });
  }

  /** Engine.IO open, then a Socket.IO CONNECT to `nsp`; resolves with the socket id. */
  async join(nsp = "/", auth?: unknown): Promise<string> {
    await this.message((m) => m.startsWith("0{"));
    const prefix = nsp === "/" ? "40" : `40${nsp},`;
    this.send(prefix + (auth === undefined ? "" : JSON.stringify(auth)));
    const reply = await this.message((m) => m.startsWith(prefix + "{"));
    return JSON.parse(reply.slice(prefix.length)).sid;
  }

  send(message: string): void {
    this.ws.send(message);
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN) {
      this.ws.close();
    }
    await this.closed;
  }
}

/** An Engine.IO v4 long-polling session driven by hand with fetch. */
export class RawPolling {
  private constructor(readonly endpoint: string, readonly sid: string) {}

  static async open(url: string, query = ""): Promise<RawPolling> {
    const base = `${url}/socket.io/?EIO=4&transport=polling${query}`;
    const res = await fetch(base);
    const body = await res.text();
    if (!body.startsWith("0{")) throw new Error(`bad handshake: ${res.status} ${body}`);
    const { sid } = JSON.parse(body.slice(1));
    return new RawPolling(`${base}&sid=${encodeURIComponent(sid)}`, sid);
  }

  /** POSTs packets; resolves with the HTTP status. */
  async post(...packets: string[]): Promise<number> {
    const res = await fetch(this.endpoint, { method: "POST", body: packets.join("\x1e") });
    await res.body?.cancel();
    return res.status;
  }

  /** One long-poll GET: the packets it brought, or the HTTP status when it failed. */
  async get(): Promise<{ status: number; packets: string[] }> {
    const res = await fetch(this.endpoint);
    const body = await res.text();
    return { status: res.status, packets: res.ok ? body.split("\x1e") : [] };
  }
}
