// What one client address can make the server hold or do before it has authenticated: a cap on
// pending Engine.IO sessions, and CONNECT packets that repeat without re-running middlewares.
import assert from "node:assert/strict";
import { startIo, waitFor, WsConn } from "../fixtures/mod.ts";

const HANDSHAKE = "/socket.io/?EIO=4&transport=polling";

Deno.test("a polling POST of 1,500 CONNECT packets runs the middlewares once, and CONNECTs after connecting never again", async () => {
  await using h = startIo();
  let runs = 0;
  let release = () => {};
  const hold = new Promise<void>((resolve) => release = resolve);
  h.io.use(async (_socket, next) => {
    runs++;
    await hold;
    next();
  });
  const polling = await h.rawPolling();
  assert.equal(await polling.post(...Array(1500).fill("40")), 200);
  assert.equal(runs, 1, "while the first is decided");
  release();
  const { packets } = await polling.get();
  assert.equal(packets.length, 1);
  assert.match(packets[0], /^40\{"sid":/);

  // A POST is answered once its packets have been handled.
  assert.equal(await polling.post(...Array(100).fill("40")), 200);
  assert.equal(runs, 1, "once connected");
  assert.equal(h.io.of("/").sockets.size, 1);
});

Deno.test("handshakes beyond maxPendingPerAddress get 429 with Retry-After; joining a namespace or closing frees a place", async () => {
  await using h = startIo({ maxPendingPerAddress: 3 });
  const sessions = [await h.rawPolling(), await h.rawPolling(), await h.rawPolling()];
  assert.equal(h.io.engine.pendingOf("127.0.0.1"), 3);

  const refused = await fetch(h.url + HANDSHAKE);
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get("retry-after"), "5");
  assert.deepEqual(await refused.json(), {
    code: 4,
    message: "Too many pending sessions from this address",
  });
  const ws = new WsConn(`${h.url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket`);
  await ws.closed;
  assert.equal(ws.opened, false, "a WebSocket handshake is refused before the upgrade");
  assert.equal(h.io.engine.sessions.size, 3);

  // Joining a namespace is leaving the pending state.
  assert.equal(await sessions[0].post("40"), 200);
  await waitFor(() => h.io.engine.pendingOf("127.0.0.1") === 2, { what: "the CONNECT" });
  const fourth = await h.rawPolling();
  assert.equal((await fetch(h.url + HANDSHAKE)).status, 429);

  // So is closing (an Engine.IO close packet).
  assert.equal(await sessions[1].post("1"), 200);
  assert.equal(h.io.engine.pendingOf("127.0.0.1"), 2);
  await h.rawPolling();
  assert.equal(h.io.engine.pendingOf("127.0.0.1"), 3);
  assert.ok(h.io.engine.sessions.has(fourth.sid));
});

Deno.test("addressOf decides whose budget a handshake counts against, and is the handshake's address", async () => {
  await using h = startIo({
    maxPendingPerAddress: 1,
    addressOf: (req) => req.headers.get("x-test-client") ?? "unknown",
  });
  const open = async (who: string) => {
    const res = await fetch(h.url + HANDSHAKE, { headers: { "x-test-client": who } });
    const body = await res.text();
    return { status: res.status, sid: res.ok ? JSON.parse(body.slice(1)).sid as string : "" };
  };
  const a = await open("a");
  assert.equal(a.status, 200);
  assert.equal((await open("a")).status, 429);
  assert.equal((await open("b")).status, 200);

  const post = await fetch(`${h.url}${HANDSHAKE}&sid=${encodeURIComponent(a.sid)}`, {
    method: "POST",
    body: "40",
  });
  await post.body?.cancel();
  await waitFor(() => h.io.of("/").sockets.size === 1, { what: "the CONNECT" });
  assert.equal([...h.io.of("/").sockets.values()][0].handshake.address, "a");
  assert.equal((await open("a")).status, 200);
});
