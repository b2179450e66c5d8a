// Conformance with the Socket.IO v5 protocol (socket.io-protocol v5 and its official test suite's
// scenarios), driven with raw fetch and the global WebSocket against a SocketServer set up like
// the official suite's test server.
import assert from "node:assert/strict";
import { waitFor, WsConn } from "../fixtures/mod.ts";
import {
  type ConnectError,
  type Socket,
  SocketServer,
  type SocketServerOptions,
} from "@/realtime/socketio/mod.ts";

const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;
const MAX_PAYLOAD = 1_000_000;
const CONNECT_TIMEOUT = 1000;

/** The official suite's test server: "auth" echo on connect, "message" and acks echoed. */
function onConnection(socket: Socket): void {
  socket.emit("auth", socket.handshake.auth);
  socket.on("message", (...args: unknown[]) => socket.emit("message-back", ...args));
  socket.on("message-with-ack", (...args: unknown[]) => {
    const ack = args.pop() as (...reply: unknown[]) => void;
    ack(...args);
  });
}

interface Harness {
  io: SocketServer;
  /** http://host:port */
  origin: string;
  /** http://host:port/socket.io/ */
  http: string;
  /** Opens a tracked WebSocket (closed when the test ends) to /socket.io/?query. */
  connect(query?: string, autoPong?: boolean): WsConn;
}

async function withIo(
  options: SocketServerOptions,
  fn: (h: Harness) => Promise<void>,
  setup: (io: SocketServer) => void = () => {},
): Promise<void> {
  const io = new SocketServer({
    pingInterval: PING_INTERVAL,
    pingTimeout: PING_TIMEOUT,
    maxPayload: MAX_PAYLOAD,
    connectTimeout: CONNECT_TIMEOUT,
    ...options,
  });
  setup(io);
  io.on("connection", onConnection);
  io.of("/custom").on("connection", onConnection);
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    io.handler(),
  );
  const host = `127.0.0.1:${server.addr.port}`;
  const conns: WsConn[] = [];
  try {
    await fn({
      io,
      origin: `http://${host}`,
      http: `http://${host}/socket.io/`,
      connect(query = "EIO=4&transport=websocket", autoPong = true) {
        const conn = new WsConn(`ws://${host}/socket.io/?${query}`, autoPong);
        conns.push(conn);
        return conn;
      },
    });
  } finally {
    for (const conn of conns) await conn.close();
    await io.close();
    await server.shutdown();
  }
}

const ioTest = (
  name: string,
  fn: (h: Harness) => Promise<void>,
  options: SocketServerOptions = {},
  setup?: (io: SocketServer) => void,
) => Deno.test(name, () => withIo(options, fn, setup));

function openPacket(content: string): Record<string, unknown> {
  assert.equal(content[0], "0", `expected an Engine.IO open packet, got ${content}`);
  return JSON.parse(content.slice(1));
}

/** Opens a WebSocket session and waits for its Engine.IO open packet. */
async function engineOpen(h: Harness, autoPong = true): Promise<WsConn> {
  const conn = h.connect(undefined, autoPong);
  openPacket(await conn.nextText());
  return conn;
}

/** An Engine.IO session that has joined the main namespace (CONNECT reply and "auth" read). */
async function sioConnect(h: Harness, autoPong = true): Promise<WsConn> {
  const conn = await engineOpen(h, autoPong);
  conn.send("40");
  assert.match(await conn.nextText(), /^40\{/);
  assert.equal(await conn.nextText(), '42["auth",{}]');
  return conn;
}

/**
 * An Engine.IO session opened over long-polling and upgraded to WebSocket (the way
 * socket.io-client connects by default); the returned socket carries the session.
 */
async function upgradedSession(h: Harness): Promise<WsConn> {
  const res = await fetch(`${h.http}?EIO=4&transport=polling`);
  const sid = openPacket(await res.text()).sid as string;
  const conn = h.connect(`EIO=4&transport=websocket&sid=${encodeURIComponent(sid)}`);
  await conn.waitOpen();
  conn.send("2probe");
  assert.equal(await conn.nextText(), "3probe");
  conn.send("5");
  return conn;
}

/** The JSON after a packet's prefix, e.g. `40/custom,{...}` → {...}. */
function payloadAfter(packet: string, prefix: string): Record<string, unknown> {
  assert.ok(packet.startsWith(prefix), `expected ${JSON.stringify(prefix)}…, got ${packet}`);
  return JSON.parse(packet.slice(prefix.length));
}

function assertSidOnly(handshake: Record<string, unknown>): void {
  assert.deepEqual(Object.keys(handshake), ["sid"]);
  assert.equal(typeof handshake.sid, "string");
  assert.ok((handshake.sid as string).length > 0);
}

// --- Engine.IO under the Socket.IO server ------------------------------------------------------

ioTest("the Socket.IO server answers the Engine.IO polling handshake at /socket.io/", async (h) => {
  const res = await fetch(`${h.http}?EIO=4&transport=polling`);
  assert.equal(res.status, 200);
  const open = openPacket(await res.text());
  assert.deepEqual(
    Object.keys(open).sort(),
    ["maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"],
  );
  assert.deepEqual(open.upgrades, ["websocket"]);
  assert.equal(open.pingInterval, PING_INTERVAL);
  assert.equal(open.pingTimeout, PING_TIMEOUT);
  assert.equal(open.maxPayload, MAX_PAYLOAD);
});

ioTest(
  "the Socket.IO server answers the Engine.IO WebSocket handshake at /socket.io/",
  async (h) => {
    const conn = h.connect();
    const open = openPacket(await conn.nextText());
    assert.deepEqual(
      Object.keys(open).sort(),
      ["maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"],
    );
    assert.deepEqual(open.upgrades, []);
  },
);

ioTest("the Socket.IO server gives Engine.IO errors and 404 outside its path", async (h) => {
  const bad = await fetch(`${h.http}?transport=polling`);
  assert.equal(bad.status, 400);
  assert.deepEqual(await bad.json(), { code: 5, message: "Unsupported protocol version" });
  const outside = await fetch(`${h.origin}/elsewhere/?EIO=4&transport=polling`);
  assert.equal(outside.status, 404);
  await outside.body?.cancel();
});

// --- connect -------------------------------------------------------------------------------------

ioTest('CONNECT "40" to the main namespace answers 40{sid} then the "auth" event', async (h) => {
  const conn = await engineOpen(h);
  conn.send("40");
  assertSidOnly(payloadAfter(await conn.nextText(), "40"));
  assert.equal(await conn.nextText(), '42["auth",{}]');
});

ioTest("CONNECT to the main namespace with a payload passes it as auth", async (h) => {
  const conn = await engineOpen(h);
  conn.send('40{"token":"123"}');
  assertSidOnly(payloadAfter(await conn.nextText(), "40"));
  assert.equal(await conn.nextText(), '42["auth",{"token":"123"}]');
});

ioTest('CONNECT "40/custom," to a custom namespace answers 40/custom,{sid}', async (h) => {
  const conn = await engineOpen(h);
  conn.send("40/custom,");
  assertSidOnly(payloadAfter(await conn.nextText(), "40/custom,"));
  assert.equal(await conn.nextText(), '42/custom,["auth",{}]');
});

ioTest("CONNECT to a custom namespace with a payload passes it as auth", async (h) => {
  const conn = await engineOpen(h);
  conn.send('40/custom,{"token":"abc"}');
  assertSidOnly(payloadAfter(await conn.nextText(), "40/custom,"));
  assert.equal(await conn.nextText(), '42/custom,["auth",{"token":"abc"}]');
});

ioTest("each connection to a namespace gets its own socket id", async (h) => {
  const a = await engineOpen(h);
  const b = await engineOpen(h);
  a.send("40");
  b.send("40");
  const sidA = payloadAfter(await a.nextText(), "40").sid;
  const sidB = payloadAfter(await b.nextText(), "40").sid;
  assert.notEqual(sidA, sidB);
});

ioTest("CONNECT to an unknown namespace answers CONNECT_ERROR Invalid namespace", async (h) => {
  const conn = await engineOpen(h);
  conn.send("40/random");
  assert.equal(await conn.nextText(), '44/random,{"message":"Invalid namespace"}');
  // The connection stays usable for a valid namespace.
  conn.send("40");
  assertSidOnly(payloadAfter(await conn.nextText(), "40"));
});

ioTest("an invalid handshake packet closes the connection", async (h) => {
  const conn = await engineOpen(h);
  conn.send("4abc");
  await conn.waitClose();
});

ioTest("a connection that sends no CONNECT within connectTimeout is closed", async (h) => {
  const started = Date.now();
  // Pings are answered, so only the connect timeout can end this connection.
  const conn = await engineOpen(h, true);
  await conn.waitClose(CONNECT_TIMEOUT + 2000);
  assert.ok(
    Date.now() - started >= CONNECT_TIMEOUT - 50,
    `closed after ${Date.now() - started} ms, before connectTimeout`,
  );
});

ioTest(
  "a middleware refusal with data answers 44 with message and data",
  async (h) => {
    const conn = await engineOpen(h);
    conn.send("40");
    assert.equal(
      await conn.nextText(),
      '44{"message":"not authorized","data":{"content":"Please retry later"}}',
    );
  },
  {},
  (io) => {
    io.use((_socket, next) => {
      const err: ConnectError = new Error("not authorized");
      err.data = { content: "Please retry later" };
      next(err);
    });
  },
);

ioTest(
  "a middleware refusal without data answers 44 with the message only",
  async (h) => {
    const conn = await engineOpen(h);
    conn.send("40");
    assert.equal(await conn.nextText(), '44{"message":"go away"}');
  },
  {},
  (io) => {
    io.use((_socket, next) => next(new Error("go away")));
  },
);

ioTest(
  "a middleware on one namespace leaves the others alone",
  async (h) => {
    const conn = await engineOpen(h);
    conn.send("40/custom,");
    assert.equal(await conn.nextText(), '44/custom,{"message":"custom is closed"}');
    conn.send("40");
    assertSidOnly(payloadAfter(await conn.nextText(), "40"));
  },
  {},
  (io) => {
    io.of("/custom").use((_socket, next) => next(new Error("custom is closed")));
  },
);

ioTest(
  "with connectionStateRecovery the CONNECT reply carries sid and pid",
  async (h) => {
    const conn = await engineOpen(h);
    conn.send("40");
    const handshake = payloadAfter(await conn.nextText(), "40");
    assert.deepEqual(Object.keys(handshake).sort(), ["pid", "sid"]);
    assert.equal(typeof handshake.sid, "string");
    assert.equal(typeof handshake.pid, "string");
    assert.notEqual(handshake.pid, handshake.sid);
    // With recovery on, every event to the client carries its offset as the last argument.
    assert.match(await conn.nextText(), /^42\["auth",\{\},"[^"]+"\]$/);
  },
  { connectionStateRecovery: { maxDisconnectionDuration: 1000 } },
);

ioTest("CONNECT over long-polling: 40{sid} and the auth event arrive on GET", async (h) => {
  const hs = await fetch(`${h.http}?EIO=4&transport=polling`);
  const sid = openPacket(await hs.text()).sid as string;
  const url = `${h.http}?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`;
  const pushed = await fetch(url, { method: "POST", body: '40{"token":"p"}' });
  assert.equal(pushed.status, 200);
  assert.equal(await pushed.text(), "ok");
  const packets: string[] = [];
  while (packets.length < 2) {
    const polled = await fetch(url);
    assert.equal(polled.status, 200);
    packets.push(...(await polled.text()).split("\x1e"));
  }
  assertSidOnly(payloadAfter(packets[0], "40"));
  assert.equal(packets[1], '42["auth",{"token":"p"}]');
  assert.equal(packets.length, 2);
});

ioTest(
  "after upgrading from polling, CONNECT, events, acks and binary attachments flow over WebSocket",
  async (h) => {
    const conn = await upgradedSession(h);
    conn.send('40{"via":"upgrade"}');
    assertSidOnly(payloadAfter(await conn.nextText(), "40"));
    assert.equal(await conn.nextText(), '42["auth",{"via":"upgrade"}]');
    conn.send('42["message","a",2]');
    assert.equal(await conn.nextText(), '42["message-back","a",2]');
    conn.send('4212["message-with-ack","b"]');
    assert.equal(await conn.nextText(), '4312["b"]');
    conn.send('451-["message",{"_placeholder":true,"num":0}]');
    conn.send(Uint8Array.from([9, 8, 7]));
    assert.equal(await conn.nextText(), '451-["message-back",{"_placeholder":true,"num":0}]');
    assert.deepEqual(await conn.nextBinary(), Uint8Array.from([9, 8, 7]));
  },
);

ioTest(
  "connection state recovery: reconnecting with the pid restores the sid and replays missed events",
  async (h) => {
    const first = await upgradedSession(h);
    first.send("40");
    const { sid, pid } = payloadAfter(await first.nextText(), "40");
    const auth = JSON.parse((await first.nextText()).slice(2));
    assert.equal(auth[0], "auth");
    const offset = auth[2];
    await first.close();
    await waitFor(() => h.io.sockets.sockets.size === 0, { ms: 2000 });
    h.io.emit("news", "while you were away");

    const second = await upgradedSession(h);
    second.send(`40${JSON.stringify({ pid, offset })}`);
    const handshake = payloadAfter(await second.nextText(), "40");
    assert.deepEqual(handshake, { sid, pid });
    const missed = await second.nextText();
    assert.match(missed, /^42\["news","while you were away","[^"]+"\]$/);
    assert.match(await second.nextText(), /^42\["auth",\{\},"[^"]+"\]$/);
    assert.equal([...h.io.sockets.sockets.values()][0].recovered, true);
  },
  { connectionStateRecovery: { maxDisconnectionDuration: 2000 } },
);

ioTest(
  "connection state recovery: an unknown pid gets a fresh socket",
  async (h) => {
    const conn = await upgradedSession(h);
    conn.send('40{"pid":"unknown","offset":"nope"}');
    const handshake = payloadAfter(await conn.nextText(), "40");
    assert.deepEqual(Object.keys(handshake).sort(), ["pid", "sid"]);
    assert.notEqual(handshake.pid, "unknown");
    assert.match(await conn.nextText(), /^42\["auth",\{\},"[^"]+"\]$/);
  },
  { connectionStateRecovery: { maxDisconnectionDuration: 2000 } },
);

// --- disconnect ----------------------------------------------------------------------------------

ioTest('DISCONNECT "41" leaves the namespace but keeps the Engine.IO session', async (h) => {
  const conn = await sioConnect(h, false);
  conn.send("41");
  assert.equal(await conn.nextText(), "2");
  conn.send("3");
  assert.equal(conn.ws.readyState, WebSocket.OPEN);
  // The socket is gone from the namespace, and the session can join again.
  await waitFor(() => h.io.sockets.sockets.size === 0, { what: "the socket to leave" });
  assert.equal(h.io.sockets.sockets.size, 0);
  conn.send("40");
  assertSidOnly(payloadAfter(await conn.nextText(), "40"));
});

ioTest("connect then disconnect /custom and keep talking on the main namespace", async (h) => {
  const conn = await sioConnect(h);
  conn.send("40/custom");
  assertSidOnly(payloadAfter(await conn.nextText(), "40/custom,"));
  assert.equal(await conn.nextText(), '42/custom,["auth",{}]');
  conn.send("41/custom");
  conn.send('42["message","message to main namespace"]');
  assert.equal(await conn.nextText(), '42["message-back","message to main namespace"]');
  assert.equal(h.io.of("/custom").sockets.size, 0);
  assert.equal(h.io.sockets.sockets.size, 1);
});

ioTest("an event for a namespace the client has not joined closes the connection", async (h) => {
  const conn = await sioConnect(h);
  conn.send('42/custom,["message","nope"]');
  await conn.waitClose();
});

// --- events and acks -----------------------------------------------------------------------------

ioTest("a plain-text event is echoed", async (h) => {
  const conn = await sioConnect(h);
  conn.send('42["message",1,"2",{"3":[true]}]');
  assert.equal(await conn.nextText(), '42["message-back",1,"2",{"3":[true]}]');
});

ioTest("a plain-text event on a custom namespace is echoed on that namespace", async (h) => {
  const conn = await engineOpen(h);
  conn.send("40/custom,");
  payloadAfter(await conn.nextText(), "40/custom,");
  assert.equal(await conn.nextText(), '42/custom,["auth",{}]');
  conn.send('42/custom,["message","hi"]');
  assert.equal(await conn.nextText(), '42/custom,["message-back","hi"]');
});

ioTest("an event with binary attachments is echoed with the same attachments", async (h) => {
  const conn = await sioConnect(h);
  conn.send('452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
  conn.send(Uint8Array.from([1, 2, 3]));
  conn.send(Uint8Array.from([4, 5, 6]));
  assert.equal(
    await conn.nextText(),
    '452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
  );
  assert.deepEqual(await conn.nextBinary(), Uint8Array.from([1, 2, 3]));
  assert.deepEqual(await conn.nextBinary(), Uint8Array.from([4, 5, 6]));
});

ioTest("an event with an ack id is acknowledged with the same id and args", async (h) => {
  const conn = await sioConnect(h);
  conn.send('42456["message-with-ack",1,"2",{"3":[false]}]');
  assert.equal(await conn.nextText(), '43456[1,"2",{"3":[false]}]');
});

ioTest("a binary event with an ack id gets a binary ack with the attachments", async (h) => {
  const conn = await sioConnect(h);
  conn.send(
    '452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
  );
  conn.send(Uint8Array.from([1, 2, 3]));
  conn.send(Uint8Array.from([4, 5, 6]));
  assert.equal(
    await conn.nextText(),
    '462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
  );
  assert.deepEqual(await conn.nextBinary(), Uint8Array.from([1, 2, 3]));
  assert.deepEqual(await conn.nextBinary(), Uint8Array.from([4, 5, 6]));
});

ioTest(
  "an ack from the client resolves the server's emitWithAck",
  async (h) => {
    const conn = await sioConnect(h);
    const serverSocket = [...h.io.sockets.sockets.values()][0];
    const reply = serverSocket.emitWithAck("question", "ping?");
    const packet = await conn.nextText();
    const match = /^42(\d+)\["question","ping\?"\]$/.exec(packet);
    assert.ok(match, `unexpected packet ${packet}`);
    conn.send(`43${match[1]}["pong!"]`);
    assert.equal(await reply, "pong!");
  },
);

// --- invalid packets -----------------------------------------------------------------------------

ioTest("an unknown packet type after connecting closes the connection", async (h) => {
  const conn = await sioConnect(h);
  conn.send("4abc");
  await conn.waitClose();
});

ioTest("an invalid event payload closes the connection", async (h) => {
  const conn = await sioConnect(h);
  conn.send("42{}");
  await conn.waitClose();
});

ioTest("an invalid ack id closes the connection", async (h) => {
  const conn = await sioConnect(h);
  conn.send('42abc["message-with-ack",1,"2",{"3":[false]}]');
  await conn.waitClose();
});

ioTest("a binary frame that no packet announced closes the connection", async (h) => {
  const conn = await sioConnect(h);
  conn.send(Uint8Array.from([1, 2, 3]));
  await conn.waitClose();
});

// --- the browser bundle --------------------------------------------------------------------------

for (
  const [file, type] of [
    ["socket.io.min.js", /javascript/],
    ["socket.io.js", /javascript/],
    ["socket.io.esm.min.js", /javascript/],
    ["socket.io.min.js.map", /json/],
  ] as const
) {
  ioTest(`the client bundle ${file} is served with an ETag and revalidates with 304`, async (h) => {
    const res = await fetch(`${h.http}${file}`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", type);
    const etag = res.headers.get("etag");
    assert.ok(etag, "missing ETag");
    const body = await res.text();
    assert.ok(body.length > 1000);
    if (file.endsWith(".map")) assert.equal(JSON.parse(body).version, 3);
    const again = await fetch(`${h.http}${file}`, { headers: { "if-none-match": etag } });
    assert.equal(again.status, 304);
    assert.equal(again.headers.get("etag"), etag);
    assert.equal(await again.text(), "");
    const stale = await fetch(`${h.http}${file}`, { headers: { "if-none-match": '"stale"' } });
    assert.equal(stale.status, 200);
    await stale.body?.cancel();
  });
}

ioTest(
  "the client bundle is not served when serveClient is false",
  async (h) => {
    const res = await fetch(`${h.http}socket.io.min.js`);
    assert.notEqual(res.status, 200);
    await res.body?.cancel();
  },
  { serveClient: false },
);
