// REST calls and accounts, through the service's public endpoints (and, for teachers, the
// repository's user:create script, the only way to make one).
import { REPO, type Service } from "./service.ts";

export interface Reply {
  status: number;
  // deno-lint-ignore no-explicit-any
  body: any;
  bytes: number;
  ms: number;
  headers: Headers;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  contentType?: string;
}

/** One request; `token` as a bearer, `body` as JSON, `raw` as it is. Never follows redirects. */
export async function api(
  base: string,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers["content-type"] = options.contentType ?? "application/json";
  const t0 = performance.now();
  const res = await fetch(base + path, { method, headers, body, redirect: "manual" });
  const bytes = new Uint8Array(await res.arrayBuffer());
  const ms = performance.now() - t0;
  let parsed: unknown = undefined;
  const text = bytes.byteLength < 64 * 1024 * 1024 ? new TextDecoder().decode(bytes) : "";
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text.slice(0, 2000);
  }
  return { status: res.status, body: parsed, bytes: bytes.byteLength, ms, headers: res.headers };
}

export const PASSWORD = "pleasant-walrus-42";

export interface Account {
  id: number;
  /** What logs in: the e-mail for meet accounts, the username for user:create ones. */
  login: string;
  email: string;
  password: string;
  access: string;
  refresh: string;
}

let counter = 0;
const tag = () => `${++counter}${crypto.randomUUID().slice(0, 6)}`;

/** A meet account: POST /auth/register/ then POST /auth/login/. Also a desk member (student). */
export async function register(base: string, prefix = "probe"): Promise<Account> {
  const email = `${prefix}${tag()}@example.com`;
  const reg = await api(base, "POST", "/auth/register/", {
    body: { email, name: "Probe Person", password: PASSWORD },
  });
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${JSON.stringify(reg.body)}`);
  const pair = await meetLogin(base, email);
  return { id: reg.body.id, login: email, email, password: PASSWORD, ...pair };
}

/** POST /auth/login/ → {access, refresh}. */
export async function meetLogin(
  base: string,
  email: string,
  password = PASSWORD,
): Promise<{ access: string; refresh: string }> {
  const r = await api(base, "POST", "/auth/login/", { body: { email, password } });
  if (r.status !== 200) throw new Error(`meet login: ${r.status} ${JSON.stringify(r.body)}`);
  return { access: r.body.access, refresh: r.body.refresh };
}

/** POST /api/token/ → {access, refresh}. */
export async function deskLogin(
  base: string,
  username: string,
  password = PASSWORD,
): Promise<{ access: string; refresh: string }> {
  const r = await api(base, "POST", "/api/token/", { body: { username, password } });
  if (r.status !== 200) throw new Error(`desk login: ${r.status} ${JSON.stringify(r.body)}`);
  return { access: r.body.access, refresh: r.body.refresh };
}

/** A teacher made with scripts/user_create.ts over the running service's database, logged in. */
export async function teacher(service: Service): Promise<Account> {
  const username = `teacher${tag()}`;
  const email = `${username}@example.com`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "scripts/user_create.ts",
      "--username",
      username,
      "--password",
      PASSWORD,
      "--email",
      email,
      "--role",
      "teacher",
      "--first-name",
      "Tina",
      "--last-name",
      "Teacher",
    ],
    cwd: REPO,
    env: service.env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const m = /\(id (\d+)\)/.exec(text);
  if (!out.success || !m) {
    throw new Error(`user:create failed: ${text} ${new TextDecoder().decode(out.stderr)}`);
  }
  const pair = await deskLogin(service.url, username);
  return { id: Number(m[1]), login: username, email, password: PASSWORD, ...pair };
}

/** POST /api/room/ {text} by a student: the new desk room's id. */
export async function openDeskRoom(
  base: string,
  student: Account,
  text = "Help please",
): Promise<number> {
  const r = await api(base, "POST", "/api/room/", { token: student.access, body: { text } });
  if (r.status !== 201) throw new Error(`open desk room: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.id;
}

/** POST /api/rooms/ {name, room_type: "chat"}: the new meet room's id. */
export async function createMeetRoom(
  base: string,
  who: Account,
  name = "Probe room",
): Promise<number> {
  const r = await api(base, "POST", "/api/rooms/", {
    token: who.access,
    body: { name, room_type: "chat" },
  });
  if (r.status !== 201) throw new Error(`create meet room: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.id;
}

/** Runs `fn` `count` times with at most `concurrency` in flight; results in order. */
export async function pool<T>(
  count: number,
  concurrency: number,
  fn: (i: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) {
      const i = next++;
      results[i] = await fn(i);
    }
  });
  await Promise.all(workers);
  return results;
}

/** How many times each value occurs, as an object (`{"401": 38, "429": 2}`). */
export function tally(values: (string | number)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[String(v)] = (out[String(v)] ?? 0) + 1;
  return out;
}
