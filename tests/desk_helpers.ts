// Fixtures for the desk face tests (specs/desk.md): people with tokens, REST calls with a
// bearer token, and the official socket.io-client connected the way the desk's clients do.
import assert from "node:assert/strict";
import { io as connect, type Socket as ClientSocket } from "socket.io-client";
import type { User } from "@/lib/records.ts";
import type { TestServer } from "./helpers.ts";
import { connected } from "./socketio_helpers.ts";

export { connected };

export type { ClientSocket };

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Long enough for an event that is going to arrive to arrive; used only to assert absence. */
export const QUIET_MS = 300;

export interface Person {
  user: User;
  password: string;
  access: string;
  refresh: string;
}

let counter = 0;

/** A fresh account of `role`, logged in (one session). */
export async function person(
  srv: TestServer,
  role: "teacher" | "member",
  names: { firstName?: string; lastName?: string } = {},
): Promise<Person> {
  counter++;
  const tag = `${counter}_${crypto.randomUUID().slice(0, 6)}`;
  const username = `${role}${tag}`;
  const password = "pleasant-walrus-42";
  await srv.core.accounts.create({
    username,
    password,
    role,
    firstName: names.firstName ?? (role === "teacher" ? "Tina" : "Sam"),
    lastName: names.lastName ?? `Person${counter}`,
    email: `${username}@example.com`,
  });
  const { access, refresh, user } = await srv.core.accounts.login(username, password);
  return { user, password, access, refresh };
}

export const student = (srv: TestServer, names?: { firstName?: string; lastName?: string }) =>
  person(srv, "member", names);
export const teacher = (srv: TestServer, names?: { firstName?: string; lastName?: string }) =>
  person(srv, "teacher", names);

/** Another login session of the same person (new tokens). */
export async function newSession(srv: TestServer, who: Person): Promise<Person> {
  const { access, refresh, user } = await srv.core.accounts.login(who.user.username, who.password);
  return { ...who, user, access, refresh };
}

/** A desk room opened by `who` (status "active"). */
export async function openRoom(srv: TestServer, who: Person, text = "How do fractions work?") {
  return await srv.core.desk.open(who.user.id, text);
}

/** A desk room opened by `s` and taken by `t` (status "engaged"). */
export async function engagedRoom(srv: TestServer, s: Person, t: Person, text?: string) {
  const room = await openRoom(srv, s, text);
  await srv.core.desk.join(room.id, t.user.id);
  return room;
}

// --- REST -------------------------------------------------------------------------------------

export interface Reply {
  status: number;
  // deno-lint-ignore no-explicit-any
  body: any;
}

/** A JSON request to the running service; `token` goes in `Authorization: Bearer`. */
export async function api(
  srv: TestServer,
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(srv.url + path, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Left as text.
  }
  return { status: res.status, body };
}

// --- Socket.IO --------------------------------------------------------------------------------

/**
 * The clients a test opened; disposing disconnects every one of them. Declare it after the
 * server (`await using srv = ...; using clients = new Clients(srv);`) so it closes first.
 */
export class Clients {
  readonly all: ClientSocket[] = [];
  constructor(readonly srv: TestServer) {}

  /** A new client (own connection) with `auth`; not awaited. */
  open(auth: Record<string, unknown> | undefined): ClientSocket {
    const client = connect(this.srv.url, {
      auth,
      reconnection: false,
      forceNew: true,
    });
    this.all.push(client);
    return client;
  }

  /** A client authenticated as `who`, the way the desk's clients connect. */
  as(who: Person): ClientSocket {
    return this.open({ access_token: who.access, id: who.user.id });
  }

  /** A connected client for `who`. */
  async connect(who: Person): Promise<ClientSocket> {
    const client = this.as(who);
    await connected(client);
    return client;
  }

  [Symbol.dispose](): void {
    for (const client of this.all) client.disconnect();
    for (const client of this.all) client.io.engine?.close();
  }
}

/** The arguments of the next `event` on `client`; rejects after `ms`. */
// deno-lint-ignore no-explicit-any
export function next<T = any>(client: ClientSocket, event: string, ms = 5000): Promise<T> {
  const promise = new Promise<T>((resolve, reject) => {
    const listener = (arg: T) => {
      clearTimeout(timer);
      client.off(event, listener);
      resolve(arg);
    };
    const timer = setTimeout(() => {
      client.off(event, listener);
      reject(new Error(`timed out after ${ms} ms waiting for "${event}"`));
    }, ms);
    client.on(event, listener);
  });
  promise.catch(() => {});
  return promise;
}

/** The payload of the next `event` on `client` that satisfies `predicate`. */
export function nextWhere<T = Record<string, unknown>>(
  client: ClientSocket,
  event: string,
  predicate: (payload: T) => boolean,
  ms = 5000,
): Promise<T> {
  const promise = new Promise<T>((resolve, reject) => {
    const listener = (arg: T) => {
      if (!predicate(arg)) return;
      clearTimeout(timer);
      client.off(event, listener);
      resolve(arg);
    };
    const timer = setTimeout(() => {
      client.off(event, listener);
      reject(new Error(`timed out after ${ms} ms waiting for a matching "${event}"`));
    }, ms);
    client.on(event, listener);
  });
  promise.catch(() => {});
  return promise;
}

/** The next `event` on `client` about `userId` (`online`, `offline`). */
export function nextAbout(client: ClientSocket, event: string, userId: number, ms = 5000) {
  return nextWhere<{ user: number }>(client, event, (p) => p?.user === userId, ms);
}

/** The client's connect_error (fails if it connects instead). */
export async function connectError(client: ClientSocket): Promise<Error & { data?: unknown }> {
  try {
    await connected(client);
  } catch (err) {
    assert.ok(err instanceof Error);
    assert.ok(!err.message.startsWith("timed out"), err.message);
    return err;
  }
  assert.fail("connected, expected a connect_error");
}

/** Resolves when the server has disconnected the client. */
export function disconnected(client: ClientSocket, ms = 5000): Promise<string> {
  if (!client.connected) return Promise.resolve("already disconnected");
  return next<string>(client, "disconnect", ms);
}

/** Emits with an ack and resolves with the ack's argument. */
// deno-lint-ignore no-explicit-any
export async function ask<T = any>(
  client: ClientSocket,
  event: string,
  ...args: unknown[]
): Promise<T> {
  return await client.timeout(5000).emitWithAck(event, ...args);
}

/** Every event a client receives, in order, as [event, payload]. */
// deno-lint-ignore no-explicit-any
export function record(client: ClientSocket): [string, any][] {
  // deno-lint-ignore no-explicit-any
  const seen: [string, any][] = [];
  client.onAny((event: string, ...args: unknown[]) => seen.push([event, args[0]]));
  return seen;
}

/** The payloads of the recorded `event`s. */
// deno-lint-ignore no-explicit-any
export function events(seen: [string, any][], event: string): any[] {
  return seen.filter(([name]) => name === event).map(([, payload]) => payload);
}

/** Polls `predicate` until it holds; fails after `ms`. */
export async function waitFor(predicate: () => boolean, what = "condition", ms = 5000) {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await delay(10);
  }
}

/**
 * Everything the server sent these clients before now has arrived: each does a round trip
 * (the packets of one connection arrive in order), then a short pause for async emitters.
 */
export async function settle(...clients: ClientSocket[]): Promise<void> {
  await Promise.all(clients.filter((c) => c.connected).map((c) => ask(c, "rooms")));
  await delay(QUIET_MS);
}

/** An ack that refused: `{error: {event, detail, code}}`; returns the error. */
export function refused(
  reply: unknown,
  event: string,
): { event: string; detail: string; code: string; fields?: Record<string, string[]> } {
  assert.ok(
    typeof reply === "object" && reply !== null && "error" in reply,
    `expected a refusal of "${event}", got ${JSON.stringify(reply)}`,
  );
  const error = (reply as { error: Record<string, unknown> }).error;
  assert.equal(error.event, event);
  assert.equal(typeof error.detail, "string");
  assert.ok((error.detail as string).length > 0);
  assert.equal(typeof error.code, "string");
  return error as ReturnType<typeof refused>;
}

export const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** Checks the documented person shape (REST rooms). */
// deno-lint-ignore no-explicit-any
export function assertDeskUser(actual: any, who: Person) {
  assert.deepEqual(Object.keys(actual).sort(), ["email", "first_name", "id", "image", "last_name"]);
  assert.equal(actual.id, who.user.id);
  assert.equal(actual.first_name, who.user.firstName);
  assert.equal(actual.last_name, who.user.lastName);
  assert.equal(actual.email, who.user.email);
  assert.match(actual.image, /^https?:\/\/\S+/);
}

/** Checks the documented room shape (GET/POST /api/room/, `new_room`). */
export function assertDeskRoom(
  // deno-lint-ignore no-explicit-any
  actual: any,
  expected: {
    id?: number;
    student: Person;
    teacher: Person | null;
    status: string;
    text: string;
    image?: string;
  },
) {
  assert.deepEqual(
    Object.keys(actual).sort(),
    ["id", "image", "status", "student", "teacher", "text", "timestamp"],
  );
  assert.ok(Number.isSafeInteger(actual.id));
  if (expected.id !== undefined) assert.equal(actual.id, expected.id);
  assertDeskUser(actual.student, expected.student);
  if (expected.teacher === null) assert.equal(actual.teacher, null);
  else assertDeskUser(actual.teacher, expected.teacher);
  assert.equal(actual.status, expected.status);
  assert.match(actual.timestamp, ISO);
  assert.equal(actual.text, expected.text);
  assert.equal(actual.image, expected.image ?? "");
}
