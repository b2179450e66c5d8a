// /metrics: off unless METRICS_TOKEN or METRICS_PUBLIC; with a token, only that Bearer token
// reads it; after real traffic (REST, a meet socket, a desk Socket.IO client) the counters moved.
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import {
  api,
  connected,
  createRoom,
  expectChat,
  join,
  person,
  startTestServer,
  waitFor,
} from "../fixtures/mod.ts";

const TOKEN = "a-metrics-token-of-some-length";

/** The sum of a metric's samples whose labels include `labels`, from the Prometheus text. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  let found = false;
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries(
      [...(m[3] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) {
      total += Number(m[4]);
      found = true;
    }
  }
  return found ? total : NaN;
}

async function scrape(url: string, token = TOKEN): Promise<string> {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
  return await res.text();
}

Deno.test("/metrics is off without METRICS_TOKEN or METRICS_PUBLIC, open with METRICS_PUBLIC", async () => {
  {
    await using srv = await startTestServer();
    const reply = await api(srv, "GET", "/metrics");
    assert.equal(reply.status, 404);
    assert.deepEqual(reply.body, { detail: "Not found." });
  }
  {
    await using srv = await startTestServer({ METRICS_PUBLIC: "true" });
    const res = await fetch(`${srv.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /process_cpu_seconds_total/);
  }
});

Deno.test("/metrics with METRICS_TOKEN answers that Bearer token only", async () => {
  await using srv = await startTestServer({ METRICS_TOKEN: TOKEN, METRICS_PUBLIC: "true" });
  const attempts: Record<string, string>[] = [
    {},
    { authorization: "Bearer wrong" },
    { authorization: TOKEN },
  ];
  for (const headers of attempts) {
    const res = await fetch(`${srv.url}/metrics`, { headers });
    assert.equal(res.status, 401, JSON.stringify(headers));
    assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="metrics"');
    await res.body?.cancel();
  }
  // A user's access token is not the metrics token.
  const someone = await person(srv);
  const res = await fetch(`${srv.url}/metrics`, {
    headers: { authorization: `Bearer ${someone.access}` },
  });
  assert.equal(res.status, 401);
  await res.body?.cancel();
  await scrape(srv.url);
});

Deno.test("after traffic the counters moved: requests by route, messages by face, connections, commits", async () => {
  await using srv = await startTestServer({ METRICS_TOKEN: TOKEN });
  const before = await scrape(srv.url);
  assert.ok(sample(before, "nodejs_eventloop_lag_seconds") >= 0, "event-loop lag is there");
  assert.ok(sample(before, "process_resident_memory_bytes") > 0, "process defaults are there");

  const ann = await person(srv, { name: "Ann Able" });
  const bob = await person(srv, { name: "Bob Baker" });
  const room = await createRoom(srv, ann);
  assert.equal(
    (await api(srv, "GET", `/api/rooms/${room.id}/`, { token: ann.access })).status,
    200,
  );
  assert.equal((await api(srv, "GET", "/api/rooms/", {})).status, 401);
  assert.equal(
    (await api(srv, "POST", "/api/rooms/", { token: ann.access, body: {} })).status,
    400,
  );

  // meet: a socket, a message, a frame refused.
  await using socket = await join(srv, ann, room.id);
  socket.send({ content: "hello" });
  await expectChat(socket, "hello");
  socket.ws.send("not json");

  // live: a message over REST.
  const opened = await api(srv, "POST", "/room/add", {
    token: ann.access,
    body: { owner: ann.user.id, abonent: bob.user.id },
  });
  assert.equal(opened.status, 200, JSON.stringify(opened.body));
  const sent = await api(srv, "POST", "/room/message", {
    token: ann.access,
    body: { room_id: opened.body.id, message: "hi Bob" },
  });
  assert.equal(sent.status, 200, JSON.stringify(sent.body));

  // desk: a Socket.IO client.
  const desk = io(srv.url, { auth: { token: bob.access }, transports: ["websocket"] });
  try {
    await connected(desk);
    let text = "";
    await waitFor(async () => {
      text = await scrape(srv.url);
      return sample(text, "chat_refused_frames_total", { face: "meet" }) >= 1 &&
        sample(text, "chat_connections_open", { face: "desk", transport: "websocket" }) === 1;
    });

    const route = "/api/rooms/:id{[0-9]+}/";
    assert.equal(sample(text, "chat_http_requests_total", { route, status: "200" }), 1);
    assert.ok(!text.includes(`route="/api/rooms/${room.id}/"`), "never the raw path");
    assert.equal(
      sample(text, "chat_http_request_duration_seconds_count", { route, method: "GET" }),
      1,
    );
    assert.equal(sample(text, "chat_refused_requests_total", { reason: "unauthenticated" }), 1);
    assert.equal(sample(text, "chat_refused_requests_total", { reason: "invalid" }), 1);
    assert.equal(sample(text, "chat_messages_committed_total", { face: "meet" }), 1);
    assert.equal(sample(text, "chat_messages_committed_total", { face: "live" }), 1);
    assert.ok(sample(text, "chat_deliveries_total", { face: "meet" }) >= 1);
    assert.equal(sample(text, "chat_connections_open", { face: "meet" }), 1);
    assert.equal(
      sample(text, "chat_refused_frames_total", { face: "meet", reason: "malformed" }),
      1,
    );
    assert.ok(sample(text, "chat_group_commit_batch_size_count") >= 2);
    assert.ok(sample(text, "chat_group_commit_duration_seconds_sum") > 0);
    assert.ok(
      sample(text, "chat_hub_publishes_total") > sample(before, "chat_hub_publishes_total"),
    );
    assert.equal(sample(text, "chat_presence_online"), 2);
  } finally {
    desk.close();
  }
  await socket.close();
  await waitFor(async () =>
    sample(await scrape(srv.url), "chat_connections_open", { face: "meet" }) === 0
  );
});
