// The HTTP basics every face shares: error shapes, body limits, probes, CORS, request logs.
import assert from "node:assert/strict";
import { sql } from "kysely";
import { openDatabase } from "@/db/client.ts";
import { api, makeUser, PASSWORD, startTestServer } from "../fixtures/mod.ts";

Deno.test("health and readiness probes answer", async () => {
  await using srv = await startTestServer();
  const health = await fetch(`${srv.url}/healthz`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: "ok" });
  const ready = await fetch(`${srv.url}/readyz`);
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { status: "ready" });
});

Deno.test("malformed JSON is a 400 with a detail", async () => {
  await using srv = await startTestServer();
  const res = await api(srv, "POST", "/api/token/", { raw: "{not json" });
  assert.equal(res.status, 400);
  assert.equal(typeof res.body.detail, "string");
  assert.match(res.body.detail, /JSON/);
});

Deno.test("a body that is not an object is a 400 under non_field_errors", async () => {
  await using srv = await startTestServer();
  const res = await api(srv, "POST", "/api/token/", { raw: "[1, 2]" });
  assert.equal(res.status, 400);
  assert.deepEqual(res.body, {
    non_field_errors: ["Invalid data. Expected a dictionary, but got list."],
  });
});

Deno.test("missing and mistyped fields come back in the field-error shape", async () => {
  await using srv = await startTestServer();
  const res = await api(srv, "POST", "/api/token/", { body: { username: 5 } });
  assert.equal(res.status, 400);
  assert.deepEqual(res.body, {
    username: ["Not a valid string."],
    password: ["This field is required."],
  });
  const blank = await api(srv, "POST", "/api/token/", {
    body: { username: "", password: "x" },
  });
  assert.deepEqual(blank.body, { username: ["This field may not be blank."] });
});

Deno.test("an unknown route is a 404 with a detail", async () => {
  await using srv = await startTestServer();
  const res = await fetch(`${srv.url}/no/such/route/`);
  assert.equal(res.status, 404);
  assert.deepEqual(await res.json(), { detail: "Not found." });
});

Deno.test("a known path with the wrong method is a 405 naming the allowed ones", async () => {
  await using srv = await startTestServer();
  const res = await fetch(`${srv.url}/api/token/`);
  assert.equal(res.status, 405);
  assert.deepEqual(await res.json(), { detail: 'Method "GET" not allowed.' });
  assert.match(res.headers.get("allow") ?? "", /POST/);
  const put = await fetch(`${srv.url}/healthz`, { method: "DELETE" });
  assert.equal(put.status, 405);
  assert.match(put.headers.get("allow") ?? "", /GET/);
  await put.body?.cancel();
});

Deno.test("a body over MAX_BODY_BYTES is a 413 with a detail", async () => {
  await using srv = await startTestServer({ MAX_BODY_BYTES: "2048" });
  const big = JSON.stringify({ username: "x".repeat(4096), password: "y" });
  const res = await api(srv, "POST", "/api/token/", { raw: big });
  assert.equal(res.status, 413);
  assert.match(res.body.detail, /2048 bytes/);
  // Streamed without a length, the limit still holds.
  const stream = new Blob([big]).stream();
  const streamed = await fetch(`${srv.url}/api/token/`, {
    method: "POST",
    body: stream,
    headers: { "content-type": "application/json" },
  });
  assert.equal(streamed.status, 413);
  await streamed.body?.cancel();
});

Deno.test("wrong credentials are a 401 with the SimpleJWT detail", async () => {
  await using srv = await startTestServer();
  const res = await api(srv, "POST", "/api/token/", {
    body: { username: "nobody", password: "wrong-password" },
  });
  assert.equal(res.status, 401);
  assert.equal(res.body.detail, "No active account found with the given credentials");
});

Deno.test("with REFRESH_ROTATION, token endpoints log in, rotate, and refuse a reused refresh token", async () => {
  await using srv = await startTestServer({ REFRESH_ROTATION: "true", REFRESH_REUSE_LEEWAY: "0" });
  await makeUser(srv.core, { username: "ann" });
  const login = await api(srv, "POST", "/api/token/", {
    body: { username: "ann", password: PASSWORD },
  });
  assert.equal(login.status, 200);
  assert.equal(typeof login.body.access, "string");
  const rotated = await api(srv, "POST", "/api/token/refresh/", {
    body: { refresh: login.body.refresh },
  });
  assert.equal(rotated.status, 200);
  assert.notEqual(rotated.body.refresh, login.body.refresh);
  const reused = await api(srv, "POST", "/api/token/refresh/", {
    body: { refresh: login.body.refresh },
  });
  assert.equal(reused.status, 401);
  assert.equal(reused.body.code, "token_not_valid");
});

Deno.test("CORS answers preflights for allowed origins only when a list is configured", async () => {
  await using srv = await startTestServer({ CORS_ORIGINS: "https://app.example" });
  const ok = await fetch(`${srv.url}/api/token/`, {
    method: "OPTIONS",
    headers: {
      origin: "https://app.example",
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type,authorization",
    },
  });
  await ok.body?.cancel();
  assert.equal(ok.status, 204);
  assert.equal(ok.headers.get("access-control-allow-origin"), "https://app.example");
  assert.equal(ok.headers.get("access-control-allow-credentials"), "true");
  const other = await fetch(`${srv.url}/healthz`, { headers: { origin: "https://evil.example" } });
  await other.body?.cancel();
  assert.equal(other.headers.get("access-control-allow-origin"), null);
});

Deno.test("a server error is a 500 with a generic detail and no stack trace", async () => {
  await using srv = await startTestServer();
  await makeUser(srv.core, { username: "bea" });
  // Break the database under the running server: login can no longer store its token.
  const other = await openDatabase({ url: `file:${srv.dir}/chat.db` });
  await sql`DROP TABLE refresh_tokens`.execute(other.db);
  await other.close();
  const res = await api(srv, "POST", "/api/token/", {
    body: { username: "bea", password: PASSWORD },
  });
  assert.equal(res.status, 500);
  assert.deepEqual(res.body, { detail: "A server error occurred." });
});

Deno.test("repeated failed logins are throttled with a 429 and Retry-After, per login name", async () => {
  await using srv = await startTestServer({ LOGIN_MAX_FAILURES: "3", LOGIN_FAILURE_WINDOW: "1m" });
  await makeUser(srv.core, { username: "cal" });
  const attempt = (username: string, password: string) =>
    api(srv, "POST", "/api/token/", { body: { username, password } });
  for (let i = 0; i < 3; i++) assert.equal((await attempt("cal", "wrong-guess")).status, 401);
  const throttled = await attempt("cal", PASSWORD);
  assert.equal(throttled.status, 429);
  assert.match(throttled.body.detail, /throttled/);
  const retryAfter = Number(throttled.headers.get("retry-after"));
  assert.ok(retryAfter > 0 && retryAfter <= 60);
  // Another login name from the same client is not affected.
  await makeUser(srv.core, { username: "dee" });
  assert.equal((await attempt("dee", PASSWORD)).status, 200);
});

Deno.test("parallel wrong passwords for one account get exactly the allowed 401s, then 429s", async () => {
  await using srv = await startTestServer({ LOGIN_MAX_FAILURES: "10", LOGIN_FAILURE_WINDOW: "1m" });
  await makeUser(srv.core, { username: "eve" });
  const replies = await Promise.all(
    Array.from(
      { length: 40 },
      () => api(srv, "POST", "/api/token/", { body: { username: "eve", password: "wrong-guess" } }),
    ),
  );
  const statuses = replies.map((r) => r.status);
  assert.equal(statuses.filter((s) => s === 401).length, 10, statuses.join());
  assert.equal(statuses.filter((s) => s === 429).length, 30, statuses.join());
  for (const reply of replies.filter((r) => r.status === 429)) {
    const retryAfter = Number(reply.headers.get("retry-after"));
    assert.ok(retryAfter > 0 && retryAfter <= 60, String(retryAfter));
  }
  // The right password is refused too while the pair is locked.
  const right = await api(srv, "POST", "/api/token/", {
    body: { username: "eve", password: PASSWORD },
  });
  assert.equal(right.status, 429);
});

Deno.test("a session cookie with a malformed escape is no credential: 401, not 500", async () => {
  await using srv = await startTestServer();
  const res = await fetch(`${srv.url}/api/room/`, { headers: { cookie: "session=%E0%A4%A" } });
  assert.equal(res.status, 401);
  assert.equal((await res.json()).detail, "Authentication credentials were not provided.");
});
