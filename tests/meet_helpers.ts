// Fixtures for the meet face tests (specs/meet.md): people registered the way the face
// registers them, REST calls with a bearer token, and a buffered WebSocket client for
// /ws/chat/{id}/ that tests dispose of (`await using`) so Deno's sanitizers pass.
import assert from "node:assert/strict";
import type { User } from "../lib/records.ts";
import type { TestServer } from "./helpers.ts";

export const PASSWORD = "pleasant-walrus-42";

/** Long enough for anything that is going to arrive to arrive; used only to wait for it. */
export const WAIT_MS = 5000;

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface Person {
  user: User;
  email: string;
  name: string;
  password: string;
  access: string;
  refresh: string;
}

let counter = 0;

/** A fresh meet account (core register, same as POST /auth/register/), logged in once. */
export async function person(srv: TestServer, name?: string): Promise<Person> {
  counter++;
  const email = `meet${counter}_${crypto.randomUUID().slice(0, 6)}@example.com`;
  const fullName = name ?? `Person Number${counter}`;
  const user = await srv.core.accounts.register({ email, name: fullName, password: PASSWORD });
  const { access, refresh } = await srv.core.accounts.login(email, PASSWORD);
  return { user, email, name: fullName, password: PASSWORD, access, refresh };
}

/** Another login session of the same person (new tokens). */
export async function newSession(srv: TestServer, who: Person): Promise<Person> {
  const { access, refresh } = await srv.core.accounts.login(who.email, who.password);
  return { ...who, access, refresh };
}

// --- REST -------------------------------------------------------------------------------------

export interface Reply {
  status: number;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  body: any;
}

/**
 * A request to the running service. `token` goes in `Authorization: Bearer`; `body` is sent
 * as JSON, `raw` as it is (with a JSON content type). The reply body is parsed when it is JSON.
 */
export async function api(
  srv: TestServer,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(srv.url + path, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Left as text (e.g. the empty body of a 204).
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** A room created through POST /api/rooms/ by `who`. */
export async function createRoom(
  srv: TestServer,
  who: Person,
  fields: { name?: string; description?: string; room_type?: string } = {},
  // deno-lint-ignore no-explicit-any
): Promise<any> {
  const reply = await api(srv, "POST", "/api/rooms/", {
    token: who.access,
    body: { name: "Room", room_type: "chat", ...fields },
  });
  assert.equal(reply.status, 201, JSON.stringify(reply.body));
  return reply.body;
}

/** The documented user shape of a person: {id, email, name}. */
export function shownAs(who: Person) {
  return { id: who.user.id, email: who.email, name: who.name };
}

/** Asserts an ISO-8601 UTC timestamp. */
export function assertIsoDate(value: unknown) {
  assert.equal(typeof value, "string");
  assert.match(value as string, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
}

// --- WebSocket --------------------------------------------------------------------------------

export const wsUrl = (srv: TestServer, roomId: number | string, query = "") =>
  `${srv.url.replace(/^http/, "ws")}/ws/chat/${roomId}/${query}`;

export interface SocketOptions {
  /** Sent as `Authorization: Bearer <token>` (Deno's WebSocket accepts headers). */
  bearer?: string;
  /** Offered as Sec-WebSocket-Protocol. */
  protocols?: string[];
}

/** A WebSocket whose frames are buffered, so nothing sent before a wait is missed. */
export class MeetSocket {
  readonly ws: WebSocket;
  opened = false;
  errored = false;
  readonly closed: Promise<CloseEvent>;
  #frames: string[] = [];
  #waiters: ((frame: string | undefined) => void)[] = [];
  #isClosed = false;

  constructor(url: string, options: SocketOptions = {}) {
    if (options.bearer !== undefined) {
      const init = {
        headers: { authorization: `Bearer ${options.bearer}` },
        protocols: options.protocols,
      };
      this.ws = new WebSocket(url, init as unknown as string[]);
    } else {
      this.ws = new WebSocket(url, options.protocols);
    }
    this.ws.addEventListener("open", () => this.opened = true);
    this.ws.addEventListener("error", () => this.errored = true);
    this.ws.addEventListener("message", (event: MessageEvent) => {
      const frame = String(event.data);
      const waiter = this.#waiters.shift();
      if (waiter) waiter(frame);
      else this.#frames.push(frame);
    });
    this.closed = new Promise((resolve) => {
      this.ws.addEventListener("close", (event) => {
        this.#isClosed = true;
        for (const waiter of this.#waiters.splice(0)) waiter(undefined);
        resolve(event);
      });
    });
  }

  /** Resolves once open; fails if the socket closes (or is refused) first. */
  async waitOpen(): Promise<void> {
    if (this.opened) return;
    await new Promise<void>((resolve, reject) => {
      this.ws.addEventListener("open", () => resolve(), { once: true });
      this.closed.then((e) => reject(new Error(`WebSocket closed before opening (${e.code})`)));
    });
  }

  /** The next text frame; fails if the socket closes first or nothing comes within `ms`. */
  async next(ms = WAIT_MS): Promise<string> {
    if (this.#frames.length > 0) return this.#frames.shift()!;
    if (this.#isClosed) throw new Error("WebSocket closed while waiting for a message");
    let timer: ReturnType<typeof setTimeout> | undefined;
    let waiter: ((frame: string | undefined) => void) | undefined;
    try {
      const frame = await new Promise<string | undefined>((resolve, reject) => {
        waiter = resolve;
        this.#waiters.push(resolve);
        timer = setTimeout(() => reject(new Error(`no message within ${ms} ms`)), ms);
      });
      if (frame === undefined) throw new Error("WebSocket closed while waiting for a message");
      return frame;
    } finally {
      clearTimeout(timer);
      this.#waiters = this.#waiters.filter((w) => w !== waiter);
    }
  }

  /** The next frame, parsed. */
  // deno-lint-ignore no-explicit-any
  async nextJson(ms?: number): Promise<any> {
    return JSON.parse(await this.next(ms));
  }

  /** Frames received and not yet taken. */
  get pending(): number {
    return this.#frames.length;
  }

  send(data: unknown): void {
    this.ws.send(typeof data === "string" ? data : JSON.stringify(data));
  }

  /** Sends a chat message. */
  say(content: string): void {
    this.send({ content });
  }

  /** The close event the server sends; fails if none comes within `ms`. */
  async closedBy(ms = WAIT_MS): Promise<CloseEvent> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        this.closed,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`not closed within ${ms} ms`)), ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN) {
      this.ws.close();
    }
    await this.closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** An open socket on room `roomId` for `who` (token via `?token=`). */
export async function join(
  srv: TestServer,
  who: Person,
  roomId: number,
): Promise<MeetSocket> {
  const socket = new MeetSocket(wsUrl(srv, roomId, `?token=${encodeURIComponent(who.access)}`));
  try {
    await socket.waitOpen();
  } catch (err) {
    await socket.close();
    throw err;
  }
  return socket;
}

/** The next chat message on `socket` whose content is `content` (fails on anything else). */
export async function expectChat(socket: MeetSocket, content: string) {
  const frame = await socket.nextJson();
  assert.equal(frame.content, content, `expected chat "${content}", got ${JSON.stringify(frame)}`);
  return frame;
}

/**
 * The upgrade response for /ws/chat/{id}/ with the headers a WebSocket client sends, read with
 * fetch (so the status and JSON body of a refusal can be checked).
 */
export async function upgradeAttempt(
  srv: TestServer,
  roomId: number | string,
  options: { query?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return await api(srv, "GET", `/ws/chat/${roomId}/${options.query ?? ""}`, {
    headers: {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-version": "13",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      ...options.headers,
    },
  });
}

/** Asserts a WebSocket to `url` never opens: it errors and closes instead. */
export async function assertRefused(url: string, options: SocketOptions = {}) {
  const socket = new MeetSocket(url, options);
  await socket.closedBy();
  assert.equal(socket.opened, false, "the WebSocket opened");
  assert.equal(socket.errored, true, "no error event");
}
