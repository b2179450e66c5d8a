// The Socket.IO server against the official socket.io-client: transports and the upgrade, acks
// both ways, binary. Namespaces, middlewares and disconnects are in socketio_namespaces.test.ts.
import assert from "node:assert/strict";
import {
  type Ack,
  bytes,
  connected,
  connectedOver,
  delay,
  isBinary,
  nextConnection,
  once,
  quietPause,
  startIo,
  transportOptions,
  waitFor,
} from "../fixtures/mod.ts";

// --- transports -------------------------------------------------------------------------------

Deno.test("default options: connects over polling, upgrades to websocket, events round-trip before and after", async () => {
  // Hold back the WebSocket probe until the polling round-trips are done.
  const probe = Promise.withResolvers<void>();
  await using h = startIo({}, {
    beforeRequest: async (req) => {
      const url = new URL(req.url);
      if (url.searchParams.get("transport") === "websocket" && url.searchParams.has("sid")) {
        await probe.promise;
      }
    },
  });
  const transports: string[] = [];
  h.io.on("connection", (socket) => {
    socket.on("echo", (value: unknown, ack: Ack) => {
      transports.push(socket.conn.transport);
      ack({ echoed: value });
    });
  });
  const serverSocket = nextConnection(h.io);
  const client = h.client();
  let openedOver = "";
  client.io.on("open", () => openedOver = client.io.engine.transport.name);
  await connected(client);
  const socket = await serverSocket;

  assert.equal(openedOver, "polling");
  assert.equal(client.io.engine.transport.name, "polling");
  assert.deepEqual(await client.emitWithAck("echo", "before"), { echoed: "before" });
  client.on("ask", (n: number, ack: Ack) => ack(n + 1));
  assert.equal(await socket.timeout(2000).emitWithAck("ask", 1), 2);

  const upgraded = once(client.io.engine, "upgrade");
  probe.resolve();
  await upgraded;
  assert.equal(client.io.engine.transport.name, "websocket");
  // The client reports the upgrade when it sends "5"; the server switches when it reads it.
  await waitFor(() => socket.conn.transport === "websocket", {
    ms: 2000,
    what: "the server-side upgrade",
  });
  assert.deepEqual(await client.emitWithAck("echo", "after"), { echoed: "after" });
  assert.equal(await socket.timeout(2000).emitWithAck("ask", 41), 42);
  assert.deepEqual(transports, ["polling", "websocket"]);
  assert.equal(socket.id, client.id);
});

Deno.test('transports: ["websocket"] connects over websocket without any polling request', async () => {
  const seen: string[] = [];
  await using h = startIo({}, {
    beforeRequest: (req) => {
      const transport = new URL(req.url).searchParams.get("transport");
      if (transport) seen.push(transport);
    },
  });
  h.io.on("connection", (socket) => {
    socket.on("echo", (value: unknown, ack: Ack) => ack(value, socket.conn.transport));
  });
  const serverSocket = nextConnection(h.io);
  const client = h.client("/", { transports: ["websocket"] });
  const outcome = await Promise.race([
    connected(client).then(() => "connected"),
    once<[string]>(client.io, "close").then(([reason]) => `connection closed: ${reason}`),
  ]);
  assert.equal(outcome, "connected");
  assert.equal(client.io.engine.transport.name, "websocket");
  assert.equal((await serverSocket).conn.transport, "websocket");
  const reply = await new Promise<unknown[]>((resolve) =>
    client.emit("echo", "hi", (...args: unknown[]) => resolve(args))
  );
  assert.deepEqual(reply, ["hi", "websocket"]);
  assert.deepEqual(seen, ["websocket"]);
});

Deno.test('transports: ["polling"] stays on polling; events and acks work both ways', async () => {
  const upgrades: string[] = [];
  await using h = startIo({}, {
    beforeRequest: (req) => {
      if (req.headers.get("upgrade")) upgrades.push(req.url);
    },
  });
  h.io.on("connection", (socket) => {
    socket.on("echo", (value: unknown, ack: Ack) => ack(value));
  });
  const serverSocket = nextConnection(h.io);
  const client = h.client("/", { transports: ["polling"] });
  await connected(client);
  const socket = await serverSocket;
  client.on("double", (n: number, ack: Ack) => ack(n * 2));

  for (let i = 0; i < 5; i++) {
    assert.equal(await client.emitWithAck("echo", i), i);
    assert.equal(await socket.timeout(2000).emitWithAck("double", i), i * 2);
  }
  const pushed = once(client, "pushed");
  socket.emit("pushed", { a: [1, 2, 3] });
  assert.deepEqual(await pushed, [{ a: [1, 2, 3] }]);

  // An upgrade would start on a request of its own, after nothing the test can wait for.
  await quietPause();
  assert.equal(client.io.engine.transport.name, "polling");
  assert.equal(socket.conn.transport, "polling");
  assert.deepEqual(upgrades, []);
});

// --- acknowledgements ---------------------------------------------------------------------------

Deno.test("a client emit with an ack callback gets every argument the server handler acks with", async () => {
  await using h = startIo();
  h.io.on("connection", (socket) => {
    socket.on("sum", (a: number, b: number, ack: Ack) => ack(a + b, { from: "server" }));
  });
  const client = h.client();
  await connected(client);
  const reply = await new Promise<unknown[]>((resolve) =>
    client.emit("sum", 2, 3, (...args: unknown[]) => resolve(args))
  );
  assert.deepEqual(reply, [5, { from: "server" }]);
});

Deno.test("client.emitWithAck resolves with the server's ack, including from an async handler", async () => {
  await using h = startIo();
  h.io.on("connection", (socket) => {
    socket.on("upper", (text: string, ack: Ack) => ack(text.toUpperCase()));
    socket.on("slow", async (n: number, ack: Ack) => {
      await delay(20);
      ack(n * 10);
    });
  });
  const client = h.client();
  await connected(client);
  assert.equal(await client.emitWithAck("upper", "abc"), "ABC");
  assert.equal(await client.emitWithAck("slow", 4), 40);
  const many = await Promise.all([1, 2, 3].map((n) => client.emitWithAck("slow", n)));
  assert.deepEqual(many, [10, 20, 30]);
});

Deno.test("server socket.emitWithAck and socket.timeout(ms).emit are answered by the client", async () => {
  await using h = startIo();
  const serverSocket = nextConnection(h.io);
  const client = h.client();
  client.on("question", (q: string, ack: Ack) => ack(`answer to ${q}`, 42));
  await connected(client);
  const socket = await serverSocket;

  assert.equal(await socket.emitWithAck("question", "one"), "answer to one");
  assert.equal(await socket.timeout(2000).emitWithAck("question", "two"), "answer to two");
  const reply = await new Promise<unknown[]>((resolve) =>
    socket.timeout(2000).emit("question", "three", (...args: unknown[]) => resolve(args))
  );
  assert.deepEqual(reply, [null, "answer to three", 42]);
  const plain = await new Promise<unknown[]>((resolve) =>
    socket.emit("question", "four", (...args: unknown[]) => resolve(args))
  );
  assert.deepEqual(plain, ["answer to four", 42]);
});

Deno.test('a server ack timeout fires with "operation has timed out" when the client never answers', async () => {
  await using h = startIo();
  const serverSocket = nextConnection(h.io);
  const client = h.client();
  client.on("ignored", () => {});
  await connected(client);
  const socket = await serverSocket;

  const calls: unknown[][] = [];
  const fired = new Promise<void>((resolve) =>
    socket.timeout(200).emit("ignored", 1, (...args: unknown[]) => {
      calls.push(args);
      resolve();
    })
  );
  await fired;
  assert.equal(calls.length, 1);
  const [err, reply] = calls[0];
  assert.ok(err instanceof Error);
  assert.equal(err.message, "operation has timed out");
  assert.equal(reply, undefined);

  await assert.rejects(socket.timeout(100).emitWithAck("ignored", 2), {
    message: "operation has timed out",
  });
  // The socket is still usable.
  client.on("ping-me", (ack: Ack) => ack("pong"));
  assert.equal(await socket.timeout(2000).emitWithAck("ping-me"), "pong");
});

Deno.test("a client ack that arrives after the server timeout is ignored", async () => {
  await using h = startIo();
  const serverSocket = nextConnection(h.io);
  const client = h.client();
  const lateAckSent = Promise.withResolvers<void>();
  client.on("late", (ack: Ack) =>
    setTimeout(() => {
      ack("too late");
      lateAckSent.resolve();
    }, 250));
  client.on("sync", (ack: Ack) => ack());
  await connected(client);
  const socket = await serverSocket;

  const calls: unknown[][] = [];
  socket.timeout(50).emit("late", (...args: unknown[]) => calls.push(args));
  await lateAckSent.promise;
  // The client answers "sync" after its late ack, and one connection's packets stay in order.
  await socket.timeout(2000).emitWithAck("sync");
  assert.equal(calls.length, 1);
  assert.ok(calls[0][0] instanceof Error);
  assert.equal(socket.connected, true);
});

Deno.test("client.timeout(200).emit times out when the server never acks", async () => {
  await using h = startIo();
  let received = 0;
  h.io.on("connection", (socket) => {
    socket.on("black-hole", (_value: unknown, _ack: Ack) => received++);
  });
  const client = h.client();
  await connected(client);

  const err = await new Promise<unknown>((resolve) =>
    client.timeout(200).emit("black-hole", 1, (err: unknown) => resolve(err))
  );
  assert.ok(err instanceof Error);
  assert.equal(err.message, "operation has timed out");
  assert.equal(received, 1);
  await assert.rejects(client.timeout(100).emitWithAck("black-hole", 2), {
    message: "operation has timed out",
  });
});

// --- binary -------------------------------------------------------------------------------------

// "websocket" is the default client, upgraded from polling (see the websocket-only test above).
for (const transport of ["polling", "websocket"] as const) {
  Deno.test(`binary over ${transport}: a Uint8Array from the client arrives as the same bytes`, async () => {
    await using h = startIo();
    const got = Promise.withResolvers<unknown[]>();
    h.io.on("connection", (socket) => {
      socket.on("upload", (...args: unknown[]) => got.resolve(args));
    });
    const client = h.client("/", transportOptions(transport));
    await connectedOver(client, transport);
    const payload = Uint8Array.from({ length: 256 }, (_, i) => i);
    client.emit("upload", "name.bin", payload);
    const [name, data] = await got.promise;
    assert.equal(name, "name.bin");
    assert.ok(isBinary(data), "arrives as binary");
    assert.deepEqual(bytes(data), [...payload]);
  });

  Deno.test(`binary over ${transport}: buffers nested in objects and arrays keep their place`, async () => {
    await using h = startIo();
    h.io.on("connection", (socket) => {
      socket.on("nested", (doc: Record<string, unknown>, ack: Ack) => {
        const parts = doc.parts as unknown[];
        const deep = (parts[1] as { deep: unknown }).deep;
        ack({
          title: doc.title,
          first: bytes(parts[0]),
          deep: bytes(deep),
          count: parts.length,
          echo: doc,
        });
      });
    });
    const client = h.client("/", transportOptions(transport));
    await connectedOver(client, transport);
    const doc = {
      title: "mixed",
      parts: [new Uint8Array([1, 2, 3]), { deep: new Uint8Array([250, 251]) }, "text"],
    };
    const reply = await client.emitWithAck("nested", doc) as Record<string, unknown>;
    assert.equal(reply.title, "mixed");
    assert.deepEqual(reply.first, [1, 2, 3]);
    assert.deepEqual(reply.deep, [250, 251]);
    assert.equal(reply.count, 3);
    // The whole document comes back in the ack, binary included.
    const echo = reply.echo as { parts: unknown[] };
    assert.deepEqual(bytes(echo.parts[0]), [1, 2, 3]);
    assert.deepEqual(bytes((echo.parts[1] as { deep: unknown }).deep), [250, 251]);
    assert.equal(echo.parts[2], "text");
  });

  Deno.test(`binary over ${transport}: a Uint8Array emitted by the server arrives at the client`, async () => {
    await using h = startIo();
    const serverSocket = nextConnection(h.io);
    const client = h.client("/", transportOptions(transport));
    await connectedOver(client, transport);
    const socket = await serverSocket;
    const file = once<[unknown, unknown]>(client, "file");
    socket.emit("file", new Uint8Array([0, 127, 128, 255]), { meta: new Uint8Array([9]) });
    const [data, meta] = await file;
    assert.deepEqual(bytes(data), [0, 127, 128, 255]);
    assert.deepEqual(bytes((meta as { meta: unknown }).meta), [9]);

    const broadcast = once<[unknown]>(client, "all");
    h.io.emit("all", new Uint8Array([7, 7, 7]));
    assert.deepEqual(bytes((await broadcast)[0]), [7, 7, 7]);
  });

  Deno.test(`binary over ${transport}: acks carry binary in both directions`, async () => {
    await using h = startIo();
    const serverSocket = nextConnection(h.io);
    h.io.on("connection", (socket) => {
      socket.on("checksum", (data: unknown, ack: Ack) => {
        const sum = bytes(data).reduce((a, b) => a + b, 0);
        ack(new Uint8Array([sum & 0xff, sum >> 8]));
      });
    });
    const client = h.client("/", transportOptions(transport));
    client.on("reverse", (data: unknown, ack: Ack) => ack(Uint8Array.from(bytes(data).reverse())));
    await connectedOver(client, transport);
    const socket = await serverSocket;

    const reply = await client.emitWithAck("checksum", new Uint8Array([200, 100, 1]));
    assert.deepEqual(bytes(reply), [301 & 0xff, 301 >> 8]);
    const reversed = await socket.timeout(2000).emitWithAck("reverse", new Uint8Array([1, 2, 3]));
    assert.ok(isBinary(reversed));
    assert.deepEqual(bytes(reversed), [3, 2, 1]);
  });
}
