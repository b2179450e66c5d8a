// The raw-WebSocket kit on its own (realtime/ws/): authentication before the upgrade in every
// accepted form, checked and bounded frames, ordered handling, the registry and presence left
// empty on every exit path, slow consumers cut, and refusals counted rather than logged.
import assert from "node:assert/strict";
import { z } from "zod";
import { counterValue } from "@/lib/metrics.ts";
import { topic } from "@/lib/events.ts";
import { CLOSE, sendAll } from "@/realtime/ws/mod.ts";
import { delay, makeUser, nonReadingClient, startKit, waitFor, WsConn } from "../fixtures/mod.ts";

const anything = z.unknown();
const chat = z.object({ say: z.string().max(100) });

async function login(kit: { core: Awaited<ReturnType<typeof startKit>>["core"] }) {
  const { user, password } = await makeUser(kit.core);
  const { access } = await kit.core.accounts.login(user.username, password);
  return { user, access };
}

/** The upgrade request a WebSocket client sends, made with fetch so the refusal can be read. */
async function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  const res = await fetch(url.replace(/^ws/, "http"), {
    headers: {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-version": "13",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      ...headers,
    },
  });
  await res.body?.cancel();
  return res.status;
}

Deno.test("kit: a token in Authorization, ?token=, a subprotocol or the same-origin cookie opens the connection", async () => {
  await using kit = await startKit({ schema: anything });
  const { access } = await login(kit);
  const forms: [string, WsConn, string][] = [
    [
      "Authorization",
      new WsConn(kit.url, false, { headers: { authorization: `Bearer ${access}` } }),
      "",
    ],
    ["?token=", new WsConn(`${kit.url}?token=${access}`), ""],
    ["subprotocol alone", new WsConn(kit.url, false, [access]), access],
    ["subprotocol beside another", new WsConn(kit.url, false, ["chat", access]), "chat"],
    [
      "same-origin cookie",
      new WsConn(kit.url, false, {
        headers: { cookie: `session=${access}`, origin: `http://${kit.origin}` },
      }),
      "",
    ],
  ];
  for (const [form, conn, protocol] of forms) {
    await conn.waitOpen();
    assert.equal(conn.ws.protocol, protocol, `${form}: the echoed subprotocol`);
  }
  await waitFor(() => kit.endpoint.stats().connections === forms.length);
  for (const [, conn] of forms) await conn.close();
});

Deno.test("kit: no token, a bad token, or a cookie from another origin is a 401 before any upgrade", async () => {
  await using kit = await startKit({ schema: anything });
  const { access } = await login(kit);
  assert.equal(await upgradeStatus(kit.url, {}), 401);
  assert.equal(await upgradeStatus(kit.url, { authorization: "Bearer not.a.token" }), 401);
  assert.equal(await upgradeStatus(`${kit.url}?token=garbage`, {}), 401);
  assert.equal(
    await upgradeStatus(kit.url, { cookie: `session=${access}`, origin: "https://evil.example" }),
    401,
  );
  assert.equal(kit.endpoint.stats().connections, 0);
});

Deno.test("kit: malformed, binary and invalid frames are refused, a frame over the limit closes with 1009", async () => {
  const handled: unknown[] = [];
  await using kit = await startKit({ schema: chat, handle: (_c, f) => void handled.push(f) });
  const { access } = await login(kit);
  const conn = new WsConn(`${kit.url}?token=${access}`);
  await conn.waitOpen();
  conn.send("not json");
  assert.deepEqual(JSON.parse(await conn.nextText()), { refused: "malformed" });
  conn.send(new TextEncoder().encode('{"say":"binary"}'));
  assert.deepEqual(JSON.parse(await conn.nextText()), { refused: "malformed" });
  for (const frame of ["null", "[]", '{"say":1}', '{"say":"' + "x".repeat(101) + '"}']) {
    conn.send(frame);
    assert.deepEqual(JSON.parse(await conn.nextText()), { refused: "invalid" }, frame);
  }
  conn.send('{"say":"fine"}');
  await waitFor(() => handled.length === 1);
  assert.deepEqual(handled, [{ say: "fine" }]);
  conn.send(JSON.stringify({ say: "x".repeat(5000) }));
  assert.equal((await conn.waitClose()).code, CLOSE.tooBig);
  await waitFor(() => kit.endpoint.stats().connections === 0);
});

Deno.test("kit: a connection's frames are handled one at a time, in the order they arrived", async () => {
  const order: number[] = [];
  let running = 0;
  let most = 0;
  await using kit = await startKit({
    schema: z.object({ n: z.number().int() }),
    async handle(_conn, { n }) {
      most = Math.max(most, ++running);
      await delay(n % 3); // handlers that take different times must not overtake each other
      order.push(n);
      running--;
    },
  });
  const { access } = await login(kit);
  const conn = new WsConn(`${kit.url}?token=${access}`);
  await conn.waitOpen();
  for (let n = 0; n < 50; n++) conn.send(JSON.stringify({ n }));
  await waitFor(() => order.length === 50);
  assert.deepEqual(order, [...Array(50).keys()]);
  assert.equal(most, 1);
  await conn.close();
});

Deno.test("kit: frames past the inbound queue bound are refused as busy; the queued ones are handled in order", async () => {
  const release = Promise.withResolvers<void>();
  const handled: number[] = [];
  await using kit = await startKit({
    schema: z.object({ n: z.number() }),
    limits: { inbound: { rate: 10_000, burst: 10_000, maxQueued: 4 } },
    async handle(_conn, { n }) {
      await release.promise;
      handled.push(n);
    },
  });
  const { access } = await login(kit);
  const conn = new WsConn(`${kit.url}?token=${access}`);
  await conn.waitOpen();
  for (let n = 0; n < 10; n++) conn.send(JSON.stringify({ n }));
  for (let i = 0; i < 6; i++) {
    assert.deepEqual(JSON.parse(await conn.nextText()), { refused: "busy" });
  }
  release.resolve();
  await waitFor(() => handled.length === 4);
  assert.deepEqual(handled, [0, 1, 2, 3]);
  assert.equal(await counterValue(kit.metrics.refusedFrames, { reason: "busy" }), 6);
  await conn.close();
});

Deno.test("kit: frames past the rate are refused as throttled, with the seconds to wait", async () => {
  const handled: number[] = [];
  await using kit = await startKit({
    schema: z.object({ n: z.number() }),
    limits: { inbound: { rate: 1, burst: 5, maxQueued: 100 } },
    handle: (_conn, { n }) => void handled.push(n),
    refusalFrame: (_conn, refusal) =>
      JSON.stringify({
        refused: refusal.reason,
        ...("retryAfter" in refusal ? { retry_after: refusal.retryAfter } : {}),
      }),
  });
  const { access } = await login(kit);
  const conn = new WsConn(`${kit.url}?token=${access}`);
  await conn.waitOpen();
  const started = Date.now();
  for (let n = 0; n < 30; n++) conn.send(JSON.stringify({ n }));
  const refusals = [];
  while (handled.length + refusals.length < 30) {
    refusals.push(JSON.parse(await conn.nextText()));
    await delay(0);
  }
  // The burst, plus at most what the rate gave back while the test ran.
  const allowed = 5 + Math.ceil((Date.now() - started) / 1000);
  assert.ok(handled.length >= 5 && handled.length <= allowed, `handled ${handled.length}`);
  for (const refusal of refusals) {
    assert.equal(refusal.refused, "throttled");
    assert.ok(refusal.retry_after >= 1);
  }
  await conn.close();
});

Deno.test("kit: after 1,000 connections open and close every way, with bad frames and failing handlers, the registry, presence and hub are empty", async () => {
  await using kit = await startKit({
    schema: z.object({ op: z.enum(["ok", "throw", "fail"]) }),
    handle(_conn, { op }) {
      if (op === "throw") throw new Error("handler bug");
      if (op === "fail") return Promise.reject(new TypeError("async handler bug"));
    },
    refusalFrame: () => undefined,
  });
  const people = await Promise.all(Array.from({ length: 5 }, () => login(kit)));
  const ways = ["client close", "junk then close", "throw", "too big", "revoked", "server close"];
  for (let batch = 0; batch < 20; batch++) {
    await Promise.all(Array.from({ length: 50 }, async (_, i) => {
      const n = batch * 50 + i;
      const who = people[n % people.length];
      const way = ways[n % ways.length];
      let access = who.access;
      if (way === "revoked") {
        ({ access } = await kit.core.accounts.login(who.user.username, "pleasant-walrus-42"));
      }
      const conn = new WsConn(`${kit.url}?token=${access}`);
      await conn.waitOpen();
      if (way === "junk then close") conn.send("{{{");
      if (way === "throw") conn.send(JSON.stringify({ op: n % 2 ? "throw" : "fail" }));
      if (way === "too big") conn.send("x".repeat(5000));
      if (way === "revoked") {
        await kit.core.tokens.endSession(
          who.user.id,
          (await kit.core.tokens.authenticate(access)).sessionId,
        );
      }
      if (way === "server close") {
        for (const c of kit.endpoint.onTopic(topic.user(who.user.id))) {
          if (c.sessionId === (await kit.core.tokens.authenticate(access)).sessionId) {
            c.close(4000, "bye");
          }
        }
      }
      if (way === "client close" || way === "junk then close" || way === "throw") {
        await conn.close();
      }
      await conn.closed;
    }));
  }
  await waitFor(() => kit.endpoint.stats().connections === 0, { what: "an empty registry" });
  assert.deepEqual(kit.endpoint.stats(), { connections: 0, users: 0, topics: 0, subscriptions: 0 });
  assert.deepEqual(kit.core.presence.onlineIds(), []);
  assert.equal(kit.hub.listenerCount("room:1"), 0);
  for (const who of people) assert.equal(kit.hub.listenerCount(topic.user(who.user.id)), 0);
  assert.equal(
    kit.log.lines.filter((l) => l.level === "error").length > 0,
    true,
    "handler bugs are logged",
  );
});

Deno.test("kit: a client that stops reading is cut with 1013 and forgotten, and what it left unread stays bounded", async () => {
  const maxBufferedBytes = 256 * 1024;
  await using kit = await startKit({ schema: anything, limits: { maxBufferedBytes } });
  const { user, access } = await login(kit);
  const stuck = await nonReadingClient(kit.origin, `/?token=${access}`);
  await waitFor(() => kit.endpoint.stats().connections === 1);
  const [conn] = kit.endpoint.onTopic(topic.user(user.id));
  const frame = "x".repeat(64 * 1024);
  const before = Deno.memoryUsage().rss;
  let accepted = 0;
  // 2,000 frames would be 128 MB; the bound must stop it long before.
  while (accepted < 2000 && conn.send(frame)) accepted++;
  const grown = Deno.memoryUsage().rss - before;
  assert.ok(accepted < 2000, "the slow consumer was never cut");
  assert.ok(grown < 64 * 1024 * 1024, `memory grew by ${grown} bytes`);
  assert.equal(conn.open, false);
  assert.equal(await counterValue(kit.metrics.slowConsumers, { face: "kit" }), 1);
  assert.equal(kit.endpoint.stats().connections, 0);
  assert.deepEqual(kit.core.presence.onlineIds(), []);
  stuck.close();
});

Deno.test("kit: logging out closes that session's connections with 4401, deactivation all of the user's, shutdown the rest with 1001", async () => {
  await using kit = await startKit({ schema: anything });
  const a = await login(kit);
  const { access: second } = await kit.core.accounts.login(a.user.username, "pleasant-walrus-42");
  const b = await login(kit);
  const first = new WsConn(`${kit.url}?token=${a.access}`);
  const other = new WsConn(`${kit.url}?token=${second}`);
  const bee = new WsConn(`${kit.url}?token=${b.access}`);
  await Promise.all([first.waitOpen(), other.waitOpen(), bee.waitOpen()]);
  await kit.core.tokens.endSession(
    a.user.id,
    (await kit.core.tokens.authenticate(a.access)).sessionId,
  );
  assert.equal((await first.waitClose()).code, CLOSE.signedOut);
  assert.equal(other.ws.readyState, WebSocket.OPEN);
  await kit.core.accounts.deactivate(a.user.id);
  assert.equal((await other.waitClose()).code, CLOSE.signedOut);
  assert.deepEqual(kit.core.presence.onlineIds(), [b.user.id]);
  kit.endpoint.close();
  assert.equal((await bee.waitClose()).code, CLOSE.goingAway);
  await waitFor(() => kit.core.presence.onlineIds().length === 0);
});

Deno.test("kit: a hub event is rendered once for all the connections on its topic", async () => {
  const renders: number[] = [];
  await using kit = await startKit({
    schema: anything,
    render(event, _topic, conns) {
      if (event.type !== "member.removed") return; // presence of the connecting user, too
      renders.push(conns.length);
      sendAll(conns, JSON.stringify({ event: event.type }));
    },
  });
  const { access } = await login(kit);
  const conns = Array.from({ length: 10 }, () => new WsConn(`${kit.url}?token=${access}`));
  await Promise.all(conns.map((c) => c.waitOpen()));
  await waitFor(() => kit.endpoint.stats().connections === 10);
  kit.hub.publish("room:1", { type: "member.removed", roomId: 1, userId: 99 });
  for (const conn of conns) {
    assert.deepEqual(JSON.parse(await conn.nextText()), { event: "member.removed" });
  }
  assert.deepEqual(renders, [10]);
  for (const conn of conns) await conn.close();
});

Deno.test("kit: a flood of refused frames is counted in full but logged once per connection", async () => {
  await using kit = await startKit({ schema: chat, refusalFrame: () => undefined });
  const { access } = await login(kit);
  const conn = new WsConn(`${kit.url}?token=${access}`);
  await conn.waitOpen();
  for (let i = 0; i < 500; i++) conn.send("not json");
  await waitFor(() => kit.log.lines.length > 0);
  const counted = () =>
    counterValue(kit.metrics.refusedFrames, { face: "kit", reason: "malformed" });
  const deadline = Date.now() + 5000;
  while (await counted() < 500 && Date.now() < deadline) await delay(10);
  assert.equal(await counted(), 500);
  assert.equal(kit.log.lines.filter((l) => l.msg === "refused a frame").length, 1);
  await conn.close();
});
