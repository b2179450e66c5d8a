// The Socket.IO server against the official socket.io-client: namespaces over one connection,
// middlewares (io.use and per namespace), and every way a socket is disconnected.
import assert from "node:assert/strict";
import {
  type Ack,
  connected,
  connectedOver,
  connectError,
  delay,
  nextConnection,
  once,
  type Socket,
  startIo,
  transportOptions,
  waitFor,
} from "../fixtures/mod.ts";

// --- namespaces ---------------------------------------------------------------------------------

Deno.test("namespaces: / and /admin over one Manager share one Engine.IO connection, events stay in their namespace", async () => {
  await using h = startIo();
  const sockets: Record<string, Socket> = {};
  h.io.on("connection", (socket) => {
    sockets["/"] = socket;
    socket.on("who", (ack: Ack) => ack("root"));
  });
  h.io.of("/admin").on("connection", (socket: Socket) => {
    sockets["/admin"] = socket;
    socket.on("who", (ack: Ack) => ack("admin"));
  });
  const root = h.client();
  const admin = h.sibling(root, "/admin");
  await Promise.all([connected(root), connected(admin)]);
  assert.equal(admin.io, root.io);

  assert.equal(h.io.engine.sessions.size, 1);
  assert.equal(sockets["/"].conn, sockets["/admin"].conn);
  assert.equal(sockets["/"].nsp.name, "/");
  assert.equal(sockets["/admin"].nsp.name, "/admin");
  assert.equal(h.io.of("/").sockets.size, 1);
  assert.equal(h.io.of("/admin").sockets.size, 1);

  assert.equal(await root.emitWithAck("who"), "root");
  assert.equal(await admin.emitWithAck("who"), "admin");

  const rootSeen: unknown[] = [];
  const adminSeen: unknown[] = [];
  root.onAny((event: string, ...args: unknown[]) => rootSeen.push([event, ...args]));
  admin.onAny((event: string, ...args: unknown[]) => adminSeen.push([event, ...args]));
  const rootDone = once(root, "done");
  const adminDone = once(admin, "done");
  h.io.emit("news", "for root");
  h.io.of("/admin").emit("news", "for admin");
  sockets["/"].emit("direct", "root only");
  h.io.emit("done");
  h.io.of("/admin").emit("done");
  await Promise.all([rootDone, adminDone]);
  assert.deepEqual(rootSeen, [["news", "for root"], ["direct", "root only"], ["done"]]);
  assert.deepEqual(adminSeen, [["news", "for admin"], ["done"]]);

  // Leaving /admin keeps / connected on the same connection.
  const adminGone = once<[string]>(sockets["/admin"], "disconnect");
  admin.disconnect();
  assert.deepEqual(await adminGone, ["client namespace disconnect"]);
  assert.equal(root.connected, true);
  assert.equal(await root.emitWithAck("who"), "root");
  assert.equal(h.io.engine.sessions.size, 1);
});

Deno.test('an unknown namespace gives connect_error "Invalid namespace"', async () => {
  await using h = startIo();
  const client = h.client("/nope");
  const err = await connectError(client);
  assert.equal(err.message, "Invalid namespace");
  assert.equal(h.io._namespace("/nope"), undefined);

  // The same connection can still join a namespace that exists.
  const root = h.sibling(client, "/");
  await connected(root);
  assert.equal(h.io.of("/").sockets.size, 1);
});

// --- middlewares --------------------------------------------------------------------------------

function tokenCheck(socket: Socket, next: (err?: Error & { data?: unknown }) => void) {
  if (socket.handshake.auth.token === "letmein") return next();
  const err = new Error("not authorized") as Error & { data?: unknown };
  err.data = { code: 401, hint: "send a token" };
  next(err);
}

Deno.test("an io.use middleware lets a client with the right token in; the handler sees handshake.auth", async () => {
  await using h = startIo();
  h.io.use(tokenCheck);
  const auths: unknown[] = [];
  h.io.on("connection", (socket) => auths.push(socket.handshake.auth));
  const client = h.client("/", { auth: { token: "letmein", user: "ann" } });
  await connected(client);
  assert.deepEqual(auths, [{ token: "letmein", user: "ann" }]);
});

Deno.test("a refused client gets connect_error with the middleware error's message and data", async () => {
  await using h = startIo();
  h.io.use(tokenCheck);
  let connections = 0;
  h.io.on("connection", () => connections++);
  const client = h.client("/", { auth: { token: "wrong" } });
  const err = await connectError(client);
  assert.equal(err.message, "not authorized");
  assert.deepEqual(err.data, { code: 401, hint: "send a token" });
  assert.equal(connections, 0);
  assert.equal(h.io.of("/").sockets.size, 0);
  assert.equal(client.connected, false);
});

Deno.test("an async middleware that throws refuses the connection with its message", async () => {
  await using h = startIo();
  const order: string[] = [];
  h.io.use(async (_socket, next) => {
    await delay(10);
    order.push("first");
    next();
  });
  h.io.use(async () => {
    await delay(10);
    order.push("second");
    throw new Error("database unavailable");
  });
  h.io.use((_socket, next) => {
    order.push("third");
    next();
  });
  let connections = 0;
  h.io.on("connection", () => connections++);
  const client = h.client();
  const err = await connectError(client);
  assert.equal(err.message, "database unavailable");
  assert.deepEqual(order, ["first", "second"]);
  assert.equal(connections, 0);
});

Deno.test("a middleware that throws synchronously also refuses", async () => {
  await using h = startIo();
  h.io.use(() => {
    throw new Error("sync failure");
  });
  const err = await connectError(h.client());
  assert.equal(err.message, "sync failure");
});

Deno.test('a middleware on "/admin" only affects "/admin"', async () => {
  await using h = startIo();
  h.io.of("/admin").use(tokenCheck);
  h.io.of("/admin").on("connection", () => {});
  const root = h.client("/", { auth: { token: "nothing" } });
  const admin = h.sibling(root, "/admin", { auth: { token: "nothing" } });
  const [rootResult, adminErr] = await Promise.all([connected(root), connectError(admin)]);
  assert.equal(rootResult, undefined);
  assert.equal(adminErr.message, "not authorized");
  assert.equal(root.connected, true);

  const allowed = h.client("/admin", { auth: { token: "letmein" } });
  await connected(allowed);
  assert.equal(h.io.of("/admin").sockets.size, 1);
});

// --- disconnecting ------------------------------------------------------------------------------

Deno.test('server socket.disconnect() gives the client "io server disconnect"', async () => {
  await using h = startIo();
  const serverSocket = nextConnection(h.io);
  const client = h.client();
  await connected(client);
  const socket = await serverSocket;
  const clientGone = once<[string]>(client, "disconnect");
  const serverGone = once<[string]>(socket, "disconnect");
  socket.disconnect();
  assert.equal((await clientGone)[0], "io server disconnect");
  assert.deepEqual(await serverGone, ["server namespace disconnect"]);
  assert.equal(h.io.of("/").sockets.size, 0);
  assert.equal(client.active, false, "the client does not reconnect by itself");
});

Deno.test("server socket.disconnect(true) still delivers the DISCONNECT to a polling client that is between two GETs", async () => {
  await using h = startIo();
  const serverSocket = nextConnection(h.io);
  const polling = await h.rawPolling();
  await polling.post("40");
  const socket = await serverSocket;
  assert.ok((await polling.get()).packets[0].startsWith("40{"));
  // No GET is pending now: the DISCONNECT has to wait for the next one, not be thrown away.
  socket.disconnect(true);
  const next = await polling.get();
  assert.equal(next.status, 200, "the session answers its last GET");
  assert.ok(next.packets.includes("41"), `got ${JSON.stringify(next.packets)}`);
  assert.equal(h.io.of("/").sockets.size, 0);
});

Deno.test('client socket.disconnect() gives the server "client namespace disconnect"', async () => {
  for (const transport of ["polling", "websocket"] as const) {
    await using h = startIo();
    const serverSocket = nextConnection(h.io);
    const client = h.client("/", transportOptions(transport));
    await connectedOver(client, transport);
    const socket = await serverSocket;
    const reason = once<[string]>(socket, "disconnect");
    client.disconnect();
    assert.deepEqual(await reason, ["client namespace disconnect"], transport);
    assert.equal(socket.connected, false);
    assert.equal(h.io.of("/").sockets.size, 0);
  }
});

Deno.test("a handler that throws (or rejects) does not kill the socket", async () => {
  await using h = startIo();
  h.io.on("connection", (socket) => {
    socket.on("boom", () => {
      throw new Error("handler bug");
    });
    socket.on("async-boom", async () => {
      await delay(1);
      throw new Error("async handler bug");
    });
    socket.on("echo", (value: unknown, ack: Ack) => ack(value));
  });
  const client = h.client();
  await connected(client);
  client.emit("boom");
  client.emit("async-boom");
  assert.equal(await client.emitWithAck("echo", "still here"), "still here");
  await waitFor(() => h.errors.length === 2, { what: "both handler errors" });
  assert.equal(client.connected, true);
  assert.equal(await client.emitWithAck("echo", "again"), "again");
  const reported = h.errors.map(({ err, event }) => [event, (err as Error).message]);
  assert.deepEqual(reported.sort(), [["async-boom", "async handler bug"], ["boom", "handler bug"]]);
});

Deno.test('"disconnecting" still sees the rooms; "disconnect" fires after they are left', async () => {
  await using h = startIo();
  const events: unknown[][] = [];
  h.io.on("connection", (socket) => {
    socket.join(["red", "blue"]);
    socket.on("disconnecting", (reason: string) => {
      events.push(["disconnecting", reason, [...socket.rooms].sort()]);
    });
    socket.on("disconnect", (reason: string) => {
      events.push([
        "disconnect",
        reason,
        [...socket.rooms],
        h.io.of("/").adapter.rooms.has("red"),
      ]);
    });
  });
  const serverSocket = nextConnection(h.io);
  const client = h.client();
  await connected(client);
  const socket = await serverSocket;
  const done = once(socket, "disconnect");
  client.disconnect();
  await done;
  assert.deepEqual(events, [
    ["disconnecting", "client namespace disconnect", ["blue", "red", socket.id].sort()],
    ["disconnect", "client namespace disconnect", [], false],
  ]);
});
