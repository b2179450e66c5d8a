// socket.handshake is read from the connection's request on demand; it shows what socket.io
// shows, each namespace with its own auth and the connection's headers and query shared.
import assert from "node:assert/strict";
import { connected, nextConnection, startIo } from "../fixtures/mod.ts";

Deno.test("socket.handshake has socket.io's fields, its namespace's auth, and the connection's headers and query", async () => {
  await using h = startIo();
  h.io.of("/other");
  const rootSocket = nextConnection(h.io);
  const otherSocket = nextConnection(h.io, "/other");
  const client = h.client("/", {
    transports: ["polling"],
    query: { team: "blue" },
    auth: { token: "root" },
    extraHeaders: { "x-trace": "t1" },
  });
  await connected(client);
  const other = h.sibling(client, "/other", { auth: { token: "other" } });
  await connected(other);
  const root = (await rootSocket).handshake;
  const second = (await otherSocket).handshake;

  assert.deepEqual(root.auth, { token: "root" });
  assert.deepEqual(second.auth, { token: "other" });
  assert.equal(root.headers["x-trace"], "t1");
  assert.equal(root.headers, second.headers, "one headers object per connection");
  assert.equal(root.query.team, "blue");
  assert.equal(root.query.EIO, "4");
  assert.equal(root.query, second.query, "one query object per connection");
  assert.equal(root.query, root.query);
  assert.ok(root.url.startsWith("/socket.io/?"));
  assert.ok(root.url.includes("team=blue"));
  assert.equal(root.address, "127.0.0.1");
  assert.equal(root.secure, false);
  assert.equal(root.xdomain, false);
  assert.equal(typeof root.issued, "number");
  assert.equal(root.time, new Date(root.issued).toString());

  const plain = JSON.parse(JSON.stringify(root));
  assert.deepEqual(Object.keys(plain).sort(), [
    "address",
    "auth",
    "headers",
    "issued",
    "query",
    "secure",
    "time",
    "url",
    "xdomain",
  ]);
  assert.deepEqual(plain.auth, { token: "root" });
  assert.equal(plain.time, root.time);
});
