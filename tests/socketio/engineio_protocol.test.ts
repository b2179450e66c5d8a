// Conformance with the Engine.IO v4 protocol (engine.io-protocol v4 and its official test
// suite's scenarios), driven with raw fetch and the global WebSocket against an echo server.
import assert from "node:assert/strict";
import { delay, waitFor, WsConn } from "../fixtures/mod.ts";
import { ENGINE_DEFAULTS, type EngineOptions } from "@/realtime/socketio/engine/options.ts";
import { EngineServer } from "@/realtime/socketio/engine/server.ts";

const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;
const MAX_PAYLOAD = 1_000_000;
const PATH = "/engine.io/";

interface Harness {
  engine: EngineServer;
  /** http://host:port/engine.io/ */
  http: string;
  /** ws://host:port/engine.io/ */
  ws: string;
  /** Opens a tracked WebSocket (closed when the test ends) to `PATH?query`. */
  connect(query: string, autoPong?: boolean): WsConn;
}

/** Runs `fn` against a fresh echo EngineServer on a real port; always shuts everything down. */
async function withEngine(
  options: Partial<EngineOptions>,
  fn: (h: Harness) => Promise<void>,
): Promise<void> {
  const engine = new EngineServer({
    ...ENGINE_DEFAULTS,
    path: PATH,
    pingInterval: PING_INTERVAL,
    pingTimeout: PING_TIMEOUT,
    maxPayload: MAX_PAYLOAD,
    ...options,
  });
  engine.onSession = (s) => {
    s.listener = { onMessage: (data) => s.send([{ type: "message", data }]), onClose: () => {} };
  };
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    (req, info) => engine.handle(req, info),
  );
  const base = `127.0.0.1:${server.addr.port}${PATH}`;
  const conns: WsConn[] = [];
  try {
    await fn({
      engine,
      http: `http://${base}`,
      ws: `ws://${base}`,
      connect(query, autoPong = false) {
        const conn = new WsConn(`ws://${base}?${query}`, autoPong);
        conns.push(conn);
        return conn;
      },
    });
  } finally {
    for (const conn of conns) await conn.close();
    engine.close();
    await server.shutdown();
  }
}

const engineTest = (
  name: string,
  fn: (h: Harness) => Promise<void>,
  options: Partial<EngineOptions> = {},
) => Deno.test(name, () => withEngine(options, fn));

// --- polling helpers -----------------------------------------------------------------------------

interface Reply {
  status: number;
  headers: Headers;
  body: string;
}

async function request(url: string, init?: RequestInit): Promise<Reply> {
  const res = await fetch(url, init);
  return { status: res.status, headers: res.headers, body: await res.text() };
}

function pollUrl(h: Harness, sid: string): string {
  return `${h.http}?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`;
}

function get(h: Harness, sid: string, init?: RequestInit): Promise<Reply> {
  return request(pollUrl(h, sid), init);
}

function post(h: Harness, sid: string, body: BodyInit): Promise<Reply> {
  return request(pollUrl(h, sid), { method: "POST", body });
}

function openPacket(content: string): Record<string, unknown> {
  assert.equal(content[0], "0", `expected an open packet, got ${JSON.stringify(content)}`);
  return JSON.parse(content.slice(1));
}

/** Opens a polling session and returns its sid. */
async function handshake(h: Harness): Promise<string> {
  const res = await request(`${h.http}?EIO=4&transport=polling`);
  assert.equal(res.status, 200);
  return openPacket(res.body).sid as string;
}

/** Waits until the session has a long-poll GET parked on it. */
function untilPollPending(h: Harness, sid: string): Promise<void> {
  return waitFor(() => h.engine.sessions.get(sid)?.writable === true, {
    ms: 2000,
    what: "a parked long-poll GET",
  });
}

function assertError(res: Reply, code: number, message: string): void {
  assert.equal(res.status, 400, `expected HTTP 400, got ${res.status}: ${res.body}`);
  assert.deepEqual(JSON.parse(res.body), { code, message });
}

function assertOpenPacket(value: Record<string, unknown>, upgrades: string[]): void {
  assert.deepEqual(
    Object.keys(value).sort(),
    ["maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"],
  );
  assert.equal(typeof value.sid, "string");
  assert.ok((value.sid as string).length > 0);
  assert.deepEqual(value.upgrades, upgrades);
  assert.equal(value.pingInterval, PING_INTERVAL);
  assert.equal(value.pingTimeout, PING_TIMEOUT);
  assert.equal(value.maxPayload, MAX_PAYLOAD);
}

// --- handshake -----------------------------------------------------------------------------------

engineTest(
  "polling handshake answers an open packet with sid, upgrades [websocket], pingInterval, pingTimeout, maxPayload",
  async (h) => {
    const res = await request(`${h.http}?EIO=4&transport=polling`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
    assertOpenPacket(openPacket(res.body), ["websocket"]);
  },
);

engineTest("each polling handshake gets a distinct sid", async (h) => {
  const a = await handshake(h);
  const b = await handshake(h);
  assert.notEqual(a, b);
});

engineTest(
  "WebSocket handshake sends an open packet with sid, upgrades [], pingInterval, pingTimeout, maxPayload",
  async (h) => {
    const conn = h.connect("EIO=4&transport=websocket");
    assertOpenPacket(openPacket(await conn.nextText()), []);
  },
);

engineTest("a missing or invalid EIO is HTTP 400 with code 5", async (h) => {
  for (
    const query of ["transport=polling", "EIO=abc&transport=polling", "EIO=3&transport=polling"]
  ) {
    assertError(await request(`${h.http}?${query}`), 5, "Unsupported protocol version");
  }
});

engineTest("a missing or unknown transport is HTTP 400 with code 0", async (h) => {
  for (const query of ["EIO=4", "EIO=4&transport=abc", "EIO=4&transport="]) {
    assertError(await request(`${h.http}?${query}`), 0, "Transport unknown");
  }
});

engineTest("an unknown sid is HTTP 400 with code 1, for GET and POST", async (h) => {
  assertError(await get(h, "does-not-exist"), 1, "Session ID unknown");
  assertError(await post(h, "does-not-exist", "4hello"), 1, "Session ID unknown");
});

engineTest("a POST or PUT handshake is HTTP 400 with code 2", async (h) => {
  for (const method of ["POST", "PUT"]) {
    const res = await request(`${h.http}?EIO=4&transport=polling`, { method, body: "4x" });
    assertError(res, 2, "Bad handshake method");
  }
  assert.equal(h.engine.sessions.size, 0);
});

engineTest(
  "transport=websocket without a WebSocket upgrade is HTTP 400 with code 3",
  async (h) => {
    assertError(await request(`${h.http}?EIO=4&transport=websocket`), 3, "Bad request");
  },
);

engineTest("an unsupported method on a polling session is HTTP 400 with code 3", async (h) => {
  const sid = await handshake(h);
  assertError(await request(pollUrl(h, sid), { method: "PUT", body: "4x" }), 3, "Bad request");
});

engineTest("a WebSocket to a bad URL is closed without a session", async (h) => {
  const queries = [
    "transport=websocket",
    "EIO=abc&transport=websocket",
    "EIO=4",
    "EIO=4&transport=abc",
    "EIO=4&transport=websocket&sid=does-not-exist",
  ];
  for (const query of queries) {
    const conn = h.connect(query);
    await conn.waitClose();
    assert.equal(conn.opened, false, `${query} should not open`);
  }
  assert.equal(h.engine.sessions.size, 0);
});

// --- messages over polling -----------------------------------------------------------------------

engineTest("polling: a POST of one text packet answers ok and is echoed on GET", async (h) => {
  const sid = await handshake(h);
  const pushed = await post(h, sid, "4hello");
  assert.equal(pushed.status, 200);
  assert.equal(pushed.body, "ok");
  const polled = await get(h, sid);
  assert.equal(polled.status, 200);
  assert.match(polled.headers.get("content-type") ?? "", /^text\/plain/);
  assert.equal(polled.body, "4hello");
});

engineTest("polling: several packets separated by \\x1e are echoed in order", async (h) => {
  const sid = await handshake(h);
  const pushed = await post(h, sid, "4test1\x1e4test2\x1e4test3");
  assert.equal(pushed.status, 200);
  assert.equal(pushed.body, "ok");
  const polled = await get(h, sid);
  assert.equal(polled.status, 200);
  assert.equal(polled.body, "4test1\x1e4test2\x1e4test3");
});

engineTest("polling: text and base64 binary packets are echoed exactly", async (h) => {
  const sid = await handshake(h);
  const pushed = await post(h, sid, "4hello\x1ebAQIDBA==");
  assert.equal(pushed.status, 200);
  assert.equal(pushed.body, "ok");
  const polled = await get(h, sid);
  assert.equal(polled.status, 200);
  assert.equal(polled.body, "4hello\x1ebAQIDBA==");
});

engineTest("polling: a pending GET is answered as soon as a message arrives", async (h) => {
  const sid = await handshake(h);
  const polling = get(h, sid);
  await untilPollPending(h, sid);
  const pushed = await post(h, sid, "4late");
  assert.equal(pushed.body, "ok");
  const polled = await polling;
  assert.equal(polled.status, 200);
  assert.equal(polled.body, "4late");
});

engineTest("polling: an invalid packet is HTTP 400 and ends the session", async (h) => {
  const sid = await handshake(h);
  const pushed = await post(h, sid, "abc");
  assert.equal(pushed.status, 400);
  const polled = await get(h, sid);
  assert.equal(polled.status, 400);
  assert.equal(h.engine.sessions.has(sid), false);
});

engineTest(
  "polling: a second concurrent GET is 400, the first gets a close packet, the session ends",
  async (h) => {
    const sid = await handshake(h);
    const first = get(h, sid);
    await untilPollPending(h, sid);
    const second = await get(h, sid, { headers: { "x-burst": "1" } });
    const firstReply = await first;
    assert.equal(firstReply.status, 200);
    assert.equal(firstReply.body, "1");
    assert.equal(second.status, 400);
    const after = await get(h, sid);
    assert.equal(after.status, 400);
  },
);

engineTest("polling: an aborted pending GET ends the session", async (h) => {
  const sid = await handshake(h);
  const controller = new AbortController();
  const aborted = fetch(pollUrl(h, sid), { signal: controller.signal }).then(
    (res) => res.body?.cancel(),
    () => {},
  );
  await untilPollPending(h, sid);
  controller.abort();
  await aborted;
  const polled = await get(h, sid);
  assert.equal(polled.status, 400);
  await waitFor(() => !h.engine.sessions.has(sid), { ms: 2000 });
});

engineTest(
  "polling: a POST over maxPayload is HTTP 413 and ends the session",
  async (h) => {
    const sid = await handshake(h);
    const small = await post(h, sid, "4" + "a".repeat(50));
    assert.equal(small.status, 200);
    assert.equal(small.body, "ok");
    const big = await post(h, sid, "4" + "a".repeat(500));
    assert.equal(big.status, 413);
    const polled = await get(h, sid);
    assert.equal(polled.status, 400);
  },
  { maxPayload: 100 },
);

engineTest(
  "polling: a streamed (chunked) POST over maxPayload is HTTP 413",
  async (h) => {
    const sid = await handshake(h);
    const bytes = new TextEncoder().encode("4" + "a".repeat(500));
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes);
        controller.close();
      },
    });
    const big = await post(h, sid, body);
    assert.equal(big.status, 413);
  },
  { maxPayload: 100 },
);

// --- messages over WebSocket ---------------------------------------------------------------------

engineTest("WebSocket: a text packet is echoed", async (h) => {
  const conn = h.connect("EIO=4&transport=websocket", true);
  await conn.waitOpen();
  openPacket(await conn.nextText());
  conn.send("4hello");
  assert.equal(await conn.next(), "4hello");
});

engineTest("WebSocket: a binary packet is echoed as a binary frame", async (h) => {
  const conn = h.connect("EIO=4&transport=websocket", true);
  openPacket(await conn.nextText());
  conn.send(Uint8Array.from([1, 2, 3, 4]));
  const frame = await conn.next();
  assert.ok(frame instanceof ArrayBuffer, "expected a binary frame");
  assert.deepEqual(new Uint8Array(frame), Uint8Array.from([1, 2, 3, 4]));
});

engineTest("WebSocket: an invalid packet closes the connection", async (h) => {
  const conn = h.connect("EIO=4&transport=websocket", true);
  openPacket(await conn.nextText());
  conn.send("abc");
  await conn.waitClose();
  await waitFor(() => h.engine.sessions.size === 0, { ms: 2000 });
});

engineTest(
  "WebSocket: a message over maxPayload closes the connection",
  async (h) => {
    const conn = h.connect("EIO=4&transport=websocket", true);
    openPacket(await conn.nextText());
    conn.send("4" + "a".repeat(50));
    assert.equal(await conn.next(), "4" + "a".repeat(50));
    conn.send("4" + "a".repeat(500));
    await conn.waitClose();
  },
  { maxPayload: 100 },
);

engineTest(
  "WebSocket: maxPayload counts bytes, so a text message of multi-byte characters over it closes",
  async (h) => {
    const conn = h.connect("EIO=4&transport=websocket", true);
    openPacket(await conn.nextText());
    // 61 UTF-16 code units, but 121 bytes on the wire (each "é" is 2 bytes in UTF-8).
    const message = "4" + "é".repeat(60);
    assert.equal(new TextEncoder().encode(message).byteLength, 121);
    conn.send(message);
    await conn.waitClose(1000);
  },
  { maxPayload: 100 },
);

engineTest(
  "polling: maxPayload counts bytes, so a POST of multi-byte characters over it is HTTP 413",
  async (h) => {
    const sid = await handshake(h);
    const big = await post(h, sid, "4" + "é".repeat(60));
    assert.equal(big.status, 413);
  },
  { maxPayload: 100 },
);

// --- heartbeat -----------------------------------------------------------------------------------

engineTest(
  "polling: the server pings and the session lives on while the client pongs",
  async (h) => {
    const sid = await handshake(h);
    for (let i = 0; i < 3; i++) {
      const polled = await get(h, sid);
      assert.equal(polled.status, 200);
      assert.equal(polled.body, "2");
      const pushed = await post(h, sid, "3");
      assert.equal(pushed.status, 200);
      assert.equal(pushed.body, "ok");
    }
    assert.ok(h.engine.sessions.has(sid));
  },
);

engineTest(
  "polling: without a pong the session is closed after pingInterval + pingTimeout",
  async (h) => {
    const sid = await handshake(h);
    await delay(PING_INTERVAL + PING_TIMEOUT + 150);
    const polled = await get(h, sid);
    assert.equal(polled.status, 400);
    assert.deepEqual(JSON.parse(polled.body), { code: 1, message: "Session ID unknown" });
  },
);

engineTest(
  "WebSocket: the server pings and the connection lives on while the client pongs",
  async (h) => {
    const conn = h.connect("EIO=4&transport=websocket");
    openPacket(await conn.nextText());
    for (let i = 0; i < 3; i++) {
      assert.equal(await conn.next(), "2");
      conn.send("3");
    }
    assert.equal(conn.ws.readyState, WebSocket.OPEN);
  },
);

engineTest("WebSocket: without a pong the connection is closed after a ping", async (h) => {
  const started = Date.now();
  const conn = h.connect("EIO=4&transport=websocket");
  openPacket(await conn.nextText());
  assert.equal(await conn.next(), "2");
  await conn.waitClose();
  assert.ok(Date.now() - started >= PING_INTERVAL + PING_TIMEOUT - 50);
  await waitFor(() => h.engine.sessions.size === 0, { ms: 2000 });
});

// --- close ---------------------------------------------------------------------------------------

engineTest(
  "polling: a close packet answers the pending GET with a noop and ends the session",
  async (h) => {
    const sid = await handshake(h);
    const pending = get(h, sid);
    await untilPollPending(h, sid);
    const pushed = await post(h, sid, "1");
    assert.equal(pushed.status, 200);
    const polled = await pending;
    assert.equal(polled.status, 200);
    assert.equal(polled.body, "6");
    const after = await get(h, sid);
    assert.equal(after.status, 400);
  },
);

engineTest("WebSocket: a close packet closes the connection", async (h) => {
  const conn = h.connect("EIO=4&transport=websocket", true);
  openPacket(await conn.nextText());
  conn.send("1");
  await conn.waitClose();
  await waitFor(() => h.engine.sessions.size === 0, { ms: 2000 });
});

engineTest("closing the server answers a pending GET with a close packet", async (h) => {
  const sid = await handshake(h);
  const pending = get(h, sid);
  await untilPollPending(h, sid);
  h.engine.close();
  const polled = await pending;
  assert.equal(polled.status, 200);
  assert.equal(polled.body, "1");
  const refused = await request(`${h.http}?EIO=4&transport=polling`);
  assert.equal(refused.status, 400);
  assert.deepEqual(JSON.parse(refused.body), { code: 4, message: "Forbidden" });
});

// --- upgrade -------------------------------------------------------------------------------------

engineTest(
  "upgrade: 2probe gets 3probe, the GET gets a noop, 5 switches and messages flow over WebSocket",
  async (h) => {
    const sid = await handshake(h);
    const conn = h.connect(`EIO=4&transport=websocket&sid=${sid}`, true);
    await conn.waitOpen();
    conn.send("2probe");
    assert.equal(await conn.next(), "3probe");
    const polled = await get(h, sid);
    assert.equal(polled.status, 200);
    assert.equal(polled.body, "6");
    conn.send("5");
    conn.send("4hello");
    assert.equal(await conn.next(), "4hello");
    assert.equal(h.engine.sessions.get(sid)?.transport, "websocket");
  },
);

engineTest("upgrade: a GET pending during the probe is released with a noop", async (h) => {
  const sid = await handshake(h);
  const pending = get(h, sid);
  await untilPollPending(h, sid);
  const conn = h.connect(`EIO=4&transport=websocket&sid=${sid}`, true);
  await conn.waitOpen();
  conn.send("2probe");
  assert.equal(await conn.next(), "3probe");
  const polled = await pending;
  assert.equal(polled.status, 200);
  assert.equal(polled.body, "6");
  conn.send("5");
  conn.send("4after");
  assert.equal(await conn.next(), "4after");
});

engineTest("upgrade: messages queued during the probe are delivered over WebSocket", async (h) => {
  const sid = await handshake(h);
  const conn = h.connect(`EIO=4&transport=websocket&sid=${sid}`, true);
  await conn.waitOpen();
  conn.send("2probe");
  assert.equal(await conn.next(), "3probe");
  // Posted over polling while probing: the echo waits for the switch.
  assert.equal((await post(h, sid, "4queued")).body, "ok");
  conn.send("5");
  assert.equal(await conn.next(), "4queued");
});

engineTest(
  "upgrade: after the switch a polling GET with the same sid is HTTP 400 (code 3)",
  async (h) => {
    const sid = await handshake(h);
    const conn = h.connect(`EIO=4&transport=websocket&sid=${sid}`, true);
    await conn.waitOpen();
    conn.send("2probe");
    assert.equal(await conn.next(), "3probe");
    conn.send("5");
    conn.send("4first");
    assert.equal(await conn.next(), "4first");
    assertError(await get(h, sid), 3, "Bad request");
    conn.send("4hello");
    assert.equal(await conn.next(), "4hello");
  },
);

engineTest(
  "upgrade: a second WebSocket with the same sid after the switch is accepted then closed",
  async (h) => {
    const sid = await handshake(h);
    const conn = h.connect(`EIO=4&transport=websocket&sid=${sid}`, true);
    await conn.waitOpen();
    conn.send("2probe");
    assert.equal(await conn.next(), "3probe");
    conn.send("5");
    conn.send("4first");
    assert.equal(await conn.next(), "4first");
    const second = h.connect(`EIO=4&transport=websocket&sid=${sid}`);
    await second.waitClose();
    assert.equal(second.opened, true);
    conn.send("4hello");
    assert.equal(await conn.next(), "4hello");
  },
);

engineTest("upgrade: a failed probe closes that WebSocket and polling carries on", async (h) => {
  const sid = await handshake(h);
  const conn = h.connect(`EIO=4&transport=websocket&sid=${sid}`);
  await conn.waitOpen();
  conn.send("4not-a-probe");
  await conn.waitClose();
  assert.equal((await post(h, sid, "4still-polling")).body, "ok");
  const polled = await get(h, sid);
  assert.equal(polled.status, 200);
  assert.equal(polled.body, "4still-polling");
  assert.equal(h.engine.sessions.get(sid)?.transport, "polling");
});

// --- CORS ----------------------------------------------------------------------------------------

engineTest("CORS: an OPTIONS preflight is allowed for the requesting origin", async (h) => {
  const res = await request(`${h.http}?EIO=4&transport=polling`, {
    method: "OPTIONS",
    headers: {
      origin: "https://example.com",
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type",
    },
  });
  assert.ok(res.status === 200 || res.status === 204, `status ${res.status}`);
  assert.equal(res.headers.get("access-control-allow-origin"), "*");
  assert.match(res.headers.get("access-control-allow-methods") ?? "", /POST/);
  assert.match(res.headers.get("access-control-allow-headers") ?? "", /content-type/i);
});

engineTest(
  "CORS: a handshake with an Origin header gets Access-Control-Allow-Origin",
  async (h) => {
    const res = await request(`${h.http}?EIO=4&transport=polling`, {
      headers: { origin: "https://example.com" },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    const sid = openPacket(res.body).sid as string;
    const pushed = await request(pollUrl(h, sid), {
      method: "POST",
      body: "4x",
      headers: { origin: "https://example.com" },
    });
    assert.equal(pushed.headers.get("access-control-allow-origin"), "*");
    const error = await request(`${h.http}?EIO=4`, { headers: { origin: "https://example.com" } });
    assert.equal(error.status, 400);
    assert.equal(error.headers.get("access-control-allow-origin"), "*");
  },
);

engineTest(
  "CORS: with an allow-list, a listed origin is reflected and another gets no header",
  async (h) => {
    const ok = await request(`${h.http}?EIO=4&transport=polling`, {
      headers: { origin: "https://good.example" },
    });
    assert.equal(ok.headers.get("access-control-allow-origin"), "https://good.example");
    assert.equal(ok.headers.get("access-control-allow-credentials"), "true");
    const other = await request(`${h.http}?EIO=4&transport=polling`, {
      headers: { origin: "https://evil.example" },
    });
    assert.equal(other.headers.get("access-control-allow-origin"), null);
  },
  { cors: { origin: ["https://good.example"], credentials: true } },
);
