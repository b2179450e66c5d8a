// The service's own Socket.IO endpoint: same port as the REST API, the browser bundle, and a
// graceful stop that tells connected clients the server is going away.
import assert from "node:assert/strict";
import { io as connect } from "socket.io-client";
import { person, startTestServer } from "../fixtures/mod.ts";

Deno.test("the service answers Socket.IO and REST on one port", async () => {
  await using srv = await startTestServer();
  const client = connect(srv.url, {
    transports: ["websocket"],
    reconnection: false,
    auth: { access_token: (await person(srv)).access },
  });
  try {
    await new Promise<void>((resolve, reject) => {
      client.on("connect", resolve);
      client.on("connect_error", reject);
    });
    assert.equal(typeof client.id, "string");
    const health = await fetch(`${srv.url}/healthz`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
  } finally {
    client.disconnect();
  }
});

Deno.test("the browser client bundle is served with an ETag and revalidates with 304", async () => {
  await using srv = await startTestServer();
  const first = await fetch(`${srv.url}/socket.io/socket.io.min.js`);
  assert.equal(first.status, 200);
  assert.match(first.headers.get("content-type") ?? "", /javascript/);
  const body = await first.text();
  assert.ok(body.length > 10_000);
  const etag = first.headers.get("etag");
  assert.ok(etag);
  const again = await fetch(`${srv.url}/socket.io/socket.io.min.js`, {
    headers: { "if-none-match": etag },
  });
  assert.equal(again.status, 304);
  await again.body?.cancel();
});

Deno.test("stopping the service closes WebSocket clients with going-away instead of waiting on them", async () => {
  const srv = await startTestServer();
  const client = connect(srv.url, {
    transports: ["websocket"],
    reconnection: false,
    auth: { access_token: (await person(srv)).access },
  });
  await new Promise<void>((resolve) => client.on("connect", resolve));
  const reason = new Promise((resolve) => client.on("disconnect", resolve));
  await srv.close();
  assert.equal(await reason, "transport close");
  client.disconnect();
  await Deno.remove(srv.dir, { recursive: true });
});

Deno.test("stopping the service also lets a long-polling client go", async () => {
  const srv = await startTestServer();
  const client = connect(srv.url, {
    transports: ["polling"],
    reconnection: false,
    auth: { access_token: (await person(srv)).access },
  });
  await new Promise<void>((resolve) => client.on("connect", resolve));
  const reason = new Promise((resolve) => client.on("disconnect", resolve));
  await srv.close();
  // A pending poll gets the close packet; a client between two polls finds the server gone.
  assert.ok(["transport close", "transport error"].includes(String(await reason)));
  client.disconnect();
  await Deno.remove(srv.dir, { recursive: true });
});
