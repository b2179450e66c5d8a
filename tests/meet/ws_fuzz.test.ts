// Malformed frames cannot reach the meet socket's handler code: a few thousand generated junk
// frames (random JSON shapes, wrong types, nulls, huge numbers, nested junk, near misses of the
// real frames, text that is not JSON, binary) on one socket. Afterwards the socket is open, a
// valid message still round-trips, nothing was stored or relayed, and the server's counter of
// refused frames holds exactly one refusal per junk frame, none of them a handler failure.
//
// A check that throws (a server bug) is refused as one and does not end the process: the last
// test proves it on the kit itself with a check that throws on purpose.
//
// The generator is seeded (FUZZ_SEED overrides the fixed default), so a failure reproduces.
import assert from "node:assert/strict";
import { z } from "zod";
import { LIMITS } from "@/lib/limits.ts";
import { createLogger } from "@/lib/log.ts";
import { counterValue, createMetrics } from "@/lib/metrics.ts";
import { createWsEndpoint } from "@/realtime/ws/mod.ts";
import {
  api,
  createRoom,
  expectChat,
  join,
  makeUser,
  MeetSocket,
  openTestCore,
  person,
  startTestServer,
} from "../fixtures/mod.ts";

const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 20240611);
const FRAMES = 3000;
/** WS_MAX_MESSAGE_BYTES's default. */
const MAX_FRAME_BYTES = 65_536;
const SIGNALS = ["webrtc-offer", "webrtc-answer", "webrtc-ice-candidate", "webrtc-hangup"];

/** mulberry32: a small seeded generator, enough to make junk reproducible. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  return { next, int, pick };
}

type Rng = ReturnType<typeof random>;

const ODD_NUMBERS = [
  0,
  -0,
  -1,
  1.5,
  1e308,
  -1e308,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 63),
  Number.MIN_VALUE,
  4294967297,
];
const ODD_STRINGS = [
  "",
  " ",
  "\u0000",
  "\ud800",
  "\udfff\ud800",
  "👋🏽",
  "\u202e",
  "null",
  "undefined",
  "{}",
  "webrtc-offer ",
  "WEBRTC-OFFER",
  "webrtc-",
  "chat ",
  "__proto__",
];
const KEYS = [
  "content",
  "type",
  "target",
  "client_id",
  "sender_id",
  "offer",
  "answer",
  "candidate",
  "sdp",
  "__proto__",
  "constructor",
  "toString",
  "valueOf",
  "",
  "0",
  "a".repeat(300),
];

function junkString(r: Rng): string {
  switch (r.int(3)) {
    case 0:
      return r.pick(ODD_STRINGS);
    case 1:
      return Array.from({ length: r.int(40) }, () => String.fromCharCode(r.int(0x10000))).join("");
    default:
      return "x".repeat(r.pick([1, 100, 5000, 20000]));
  }
}

/** Anything but a string: what `content`, `client_id` or `type` must not be. */
function notAString(r: Rng, depth: number): unknown {
  switch (r.int(6)) {
    case 0:
      return null;
    case 1:
      return r.next() < 0.5;
    case 2:
      return r.pick(ODD_NUMBERS);
    case 3:
      return Array.from({ length: r.int(4) }, () => value(r, depth + 1));
    case 4:
      return object(r, depth + 1);
    default:
      return {};
  }
}

function value(r: Rng, depth: number): unknown {
  if (depth > 4 || r.next() < 0.4) return r.next() < 0.5 ? junkString(r) : notAString(r, 5);
  return r.next() < 0.5 ? notAString(r, depth) : junkString(r);
}

/**
 * A random object that is never a valid frame: `content` is never a string and `type` never a
 * signal's, so it is neither a chat message nor a signal.
 */
function object(r: Rng, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = r.int(6); i > 0; i--) {
    const key = r.pick(KEYS);
    const junk = key === "content" || key === "type" ? notAString(r, depth) : value(r, depth);
    // defineProperty: a "__proto__" key stays an own property, as JSON.parse would make it.
    Object.defineProperty(out, key, { value: junk, enumerable: true, writable: true });
  }
  return out;
}

/** Close to a real frame, one field wrong; a few of them pass the schema and the core refuses. */
function nearMiss(r: Rng): unknown {
  const badTarget = [0, -1, 1.5, "1", null, 1e308, 2 ** 53, [1], {}, true];
  const badClientId = ["", "c".repeat(LIMITS.clientId + 1), 7, null, ["c"], { id: "c" }, false];
  switch (r.int(7)) {
    case 0:
      return { type: r.pick(SIGNALS), target: r.pick(badTarget), sdp: "v=0" };
    case 1:
      return { content: "hello", client_id: r.pick(badClientId) };
    case 2:
      return { type: r.pick([...ODD_STRINGS, "chat", 7, null, ["webrtc-offer"]]) };
    case 3:
      return { type: "chat", content: notAString(r, 3) };
    case 4:
      return { type: r.pick([null, 1, "", "message"]), content: "typed wrong" };
    case 5:
      // Passes the schema; the core refuses it (blank) before writing anything.
      return { content: r.pick([" ", "\n\t", "   \r\n"]) };
    default:
      // Passes the schema; the core refuses it (longer than MESSAGE_MAX_LENGTH).
      return { content: "y".repeat(4001) };
  }
}

/** One junk frame: text that is not JSON, JSON of the wrong shape, or binary. */
function frame(r: Rng): string | Uint8Array<ArrayBuffer> {
  switch (r.int(8)) {
    case 0: {
      const bytes = new Uint8Array(r.int(64));
      for (let i = 0; i < bytes.length; i++) bytes[i] = r.int(256);
      return bytes;
    }
    case 1:
      // A real chat frame, but binary: only text frames are read.
      return new TextEncoder().encode(JSON.stringify({ content: "binary" }));
    case 2: {
      const text = JSON.stringify(object(r, 0));
      return text.slice(0, Math.max(1, r.int(text.length))) + r.pick(["", "}", ",", "\\"]);
    }
    case 3:
      return r.pick(["", " ", "{", "}{", "[", "undefined", "NaN", "1e999", "-", "'x'", "{'a':1}"]);
    case 4: {
      const depth = 1 + r.int(10_000);
      return `${"[".repeat(depth)}${"]".repeat(depth)}`;
    }
    case 5:
      return JSON.stringify(r.next() < 0.5 ? notAString(r, 0) : junkString(r));
    case 6:
      return JSON.stringify(nearMiss(r));
    default:
      return JSON.stringify(object(r, 0));
  }
}

/**
 * A junk frame under the frame size limit: a larger one closes the socket with 1009 by design
 * (tests/meet/ws.test.ts), which would end the fuzzing rather than test the checks.
 */
function junk(r: Rng): string | Uint8Array<ArrayBuffer> {
  for (;;) {
    const candidate = frame(r);
    const bytes = typeof candidate === "string"
      ? new TextEncoder().encode(candidate).length
      : candidate.length;
    if (bytes <= MAX_FRAME_BYTES) return candidate;
  }
}

Deno.test("ws: thousands of junk frames are each refused before any handler; the socket stays open, nothing is stored or relayed, no handler error", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  const b = await person(srv);
  const room = await createRoom(srv, a);
  await using sa = await join(srv, a, room.id);
  // Someone else in the room: junk must not reach them either.
  await using sb = await join(srv, b, room.id);
  const refused = (labels: Record<string, string> = {}) =>
    counterValue(srv.metrics.refusedFrames, { face: "meet", ...labels });
  const before = await refused();

  const r = random(SEED);
  for (let i = 0; i < FRAMES; i++) sa.send(junk(r));

  // Frames are read in order: once this comes back, every junk frame has been dealt with.
  sa.send({ content: "after the fuzz", client_id: "fuzz-1" });
  const echo = await expectChat(sa, "after the fuzz");
  assert.equal(echo.client_id, "fuzz-1");
  assert.deepEqual(await sb.nextJson(), echo, `seed ${SEED}: nothing reached the other user`);
  assert.equal(sa.ws.readyState, WebSocket.OPEN, `seed ${SEED}`);

  const rest = await api(srv, "GET", `/api/rooms/${room.id}/messages/`, { token: a.access });
  assert.deepEqual(rest.body.map((m: { content: string }) => m.content), ["after the fuzz"]);

  // One refusal per junk frame, and none of them was a handler failing.
  assert.equal((await refused()) - before, FRAMES, `seed ${SEED}: one refusal per junk frame`);
  assert.equal(await refused({ reason: "error" }), 0, `seed ${SEED}: a handler failed`);
  assert.equal(await refused({ reason: "throttled" }), 0, `seed ${SEED}`);
  assert.equal(await refused({ reason: "busy" }), 0, `seed ${SEED}`);
  assert.ok(await refused({ reason: "malformed" }) > 0, `seed ${SEED}`);
  assert.ok(await refused({ reason: "invalid" }) > 0, `seed ${SEED}`);
});

Deno.test("ws kit: a frame check that throws refuses that frame as a server error; the connection and the process live on", async () => {
  await using test = await openTestCore();
  const { user, password } = await makeUser(test.core);
  const { access } = await test.core.accounts.login(user.username, password);
  const metrics = createMetrics();
  const handled: unknown[] = [];
  const endpoint = createWsEndpoint<null, { ok: string }>({
    face: "kit",
    tokens: test.core.tokens,
    presence: test.core.presence,
    hub: test.hub,
    log: createLogger("silent"),
    metrics,
    limits: {
      maxFrameBytes: 1024,
      maxBufferedBytes: 1 << 20,
      inbound: { rate: 1000, burst: 1000, maxQueued: 10 },
    },
    // A bug in a check (here: on purpose) must not escape the socket's event handler.
    schema: z.object({ ok: z.string() }).refine((frame) => {
      if (frame.ok === "throw") throw new TypeError("a broken check");
      return true;
    }),
    handle: (conn, frame) => {
      handled.push(frame);
      conn.send(JSON.stringify(frame));
    },
    refusalFrame: () => undefined,
    render: () => {},
  });
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      return endpoint.accept(req, await endpoint.authenticate(req), { data: null, topics: [] });
    },
  );
  await using socket = new MeetSocket(`ws://127.0.0.1:${server.addr.port}/?token=${access}`);
  await socket.waitOpen();

  socket.send({ ok: "throw" });
  socket.send({ ok: "fine" });
  assert.deepEqual(await socket.nextJson(), { ok: "fine" });
  assert.deepEqual(handled, [{ ok: "fine" }], "the frame whose check threw was not handled");
  assert.equal(await counterValue(metrics.refusedFrames, { face: "kit", reason: "error" }), 1);
  endpoint.close();
});
