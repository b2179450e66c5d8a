// Fixtures for the meet face tests (specs/meet.md): people registered the way the face
// registers them, REST calls with a bearer token, and a buffered WebSocket client for
// /ws/chat/{id}/ that tests dispose of (`await using`) so Deno's sanitizers pass.
import assert from "node:assert/strict";
import type { User } from "@/lib/records.ts";
import type { TestServer } from "./helpers.ts";
import { WsConn } from "./ws_conn.ts";

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

/** A meet socket: JSON frames, chat helpers, and the close the server chose. */
export class MeetSocket extends WsConn {
  constructor(url: string, options: SocketOptions = {}) {
    super(
      url,
      false,
      options.bearer !== undefined
        ? { headers: { authorization: `Bearer ${options.bearer}` }, protocols: options.protocols }
        : options.protocols,
    );
  }

  /** The next text frame. */
  override async next(ms = WAIT_MS): Promise<string> {
    return String(await super.next(ms));
  }

  /** The next frame, parsed. */
  // deno-lint-ignore no-explicit-any
  async nextJson(ms?: number): Promise<any> {
    return JSON.parse(await this.next(ms));
  }

  override send(data: unknown): void {
    this.ws.send(typeof data === "string" ? data : JSON.stringify(data));
  }

  /** Sends a chat message. */
  say(content: string): void {
    this.send({ content });
  }

  /** The close event the server sends; fails if none comes within `ms`. */
  closedBy(ms = WAIT_MS): Promise<CloseEvent> {
    return this.waitClose(ms);
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
