// Shared fixtures: a real libSQL file in a temporary directory, the real core, a real server.
import assert from "node:assert/strict";
import { type DatabaseHandle, openDatabase } from "@/db/client.ts";
import { migrate } from "@/db/migrate.ts";
import { type Core, type CoreSettings, createCore } from "@/lib/core.ts";
import type { DomainEvent } from "@/lib/events.ts";
import { createMemoryHub, type Hub } from "@/realtime/hub.ts";
import { type RunningServer, startServer } from "@/main.ts";

/** Cheap hashing for tests; the production default (870000) is covered by the vector test. */
export const TEST_ITERATIONS = 1000;

export async function tempDir(prefix = "chat-test-"): Promise<string> {
  return await Deno.makeTempDir({ prefix });
}

export interface TestCore {
  core: Core;
  hub: Hub;
  database: DatabaseHandle;
  dir: string;
  /** Every event published, in order, with its topic. */
  events: { topic: string; event: DomainEvent }[];
  /** Moves the core's clock (ms). */
  clock: { now: number };
  [Symbol.asyncDispose](): Promise<void>;
}

/** A migrated database file in a fresh temp dir, and the core over it. Use with `await using`. */
export async function openTestCore(settings: Partial<CoreSettings> = {}): Promise<TestCore> {
  const dir = await tempDir();
  const database = await openDatabase({ url: `file:${dir}/chat.db` });
  await migrate(database);
  const hub = createMemoryHub();
  const events: TestCore["events"] = [];
  const clock = { now: Date.now() };
  const core = createCore({
    db: database.db,
    events: {
      publish(topic, event) {
        events.push({ topic, event });
        hub.publish(topic, event);
      },
    },
    now: () => clock.now,
    settings: {
      jwtSecret: "test-secret-of-at-least-thirty-two-characters",
      accessTokenTtl: 3600,
      refreshTokenTtl: 7 * 86400,
      passwordIterations: TEST_ITERATIONS,
      passwordMinLength: 8,
      messageMaxLength: 4000,
      loginMaxFailures: 1000,
      loginFailureWindow: 900,
      ...settings,
    },
  });
  return {
    core,
    hub,
    database,
    dir,
    events,
    clock,
    async [Symbol.asyncDispose]() {
      await hub.close();
      await database.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

let counter = 0;
/** A fresh account with a valid password; `overrides` may set any NewAccount field. */
export async function makeUser(
  core: Core,
  overrides: Partial<Parameters<Core["accounts"]["create"]>[0]> = {},
) {
  counter++;
  const password = overrides.password ?? "pleasant-walrus-42";
  const user = await core.accounts.create({
    username: `user${counter}_${crypto.randomUUID().slice(0, 6)}`,
    email: `user${counter}_${crypto.randomUUID().slice(0, 6)}@example.com`,
    firstName: "Test",
    lastName: `User${counter}`,
    ...overrides,
    password,
  });
  return { user, password };
}

export interface TestServer extends RunningServer {
  dir: string;
  [Symbol.asyncDispose](): Promise<void>;
}

/** The whole service on port 0 over a temp database. Use with `await using`. */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const dir = await tempDir();
  const running = await startServer({
    env: {
      HOST: "127.0.0.1",
      PORT: "0",
      DATA_DIR: dir,
      DATABASE_URL: `file:${dir}/chat.db`,
      LOG_LEVEL: "silent",
      PASSWORD_ITERATIONS: String(TEST_ITERATIONS),
      // Tests seed history through the faces; the limits have tests of their own.
      SEND_RATE: "100000",
      SEND_BURST: "100000",
      SOCKET_FRAME_RATE: "100000",
      SOCKET_FRAME_BURST: "100000",
      SOCKET_INBOUND_QUEUE: "10000",
      ...env,
    },
  });
  return {
    ...running,
    dir,
    async [Symbol.asyncDispose]() {
      await running.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** The error `promise` rejects with, checked to be a `type`. */
export async function refusal<E extends Error>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => E,
): Promise<E> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof type, `expected ${type.name}, got ${err}`);
    return err;
  }
  assert.fail(`expected ${type.name}, but it succeeded`);
}
