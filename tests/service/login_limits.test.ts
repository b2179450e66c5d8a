// Who a client is behind a proxy, and the limits keyed on it: a lock-out per login name and
// address, a slow-down per login name over all addresses, budgets per address for logins,
// sign-ups and refreshes, and the bound on password hashing, over HTTP and on the /login/ page.
import assert from "node:assert/strict";
import { slowdownMs } from "@/lib/accounts.ts";
import { counterValue } from "@/lib/metrics.ts";
import { clientAddressOf } from "@/realtime/client_address.ts";
import {
  api,
  makeUser,
  PASSWORD,
  person,
  startTestServer,
  type TestServer,
  waitFor,
} from "../fixtures/mod.ts";

const peer = (hostname: string) => ({
  remoteAddr: { transport: "tcp" as const, hostname, port: 40000 },
  completed: Promise.resolve(),
});

function forwarded(xff?: string): Request {
  return new Request("http://chat.example/", xff ? { headers: { "x-forwarded-for": xff } } : {});
}

/** A desk login from `from` (sent as X-Forwarded-For: only believed with TRUST_PROXY). */
function attempt(srv: TestServer, username: string, password: string, from?: string) {
  const headers: Record<string, string> = from ? { "x-forwarded-for": from } : {};
  return api(srv, "POST", "/api/token/", { body: { username, password }, headers });
}

Deno.test("the client address is the peer's unless TRUST_PROXY hops are believed", () => {
  const info = peer("10.0.0.1");
  assert.equal(clientAddressOf(forwarded("6.6.6.6"), info, 0), "10.0.0.1");
  assert.equal(clientAddressOf(forwarded(), info, 1), "10.0.0.1");
  assert.equal(clientAddressOf(forwarded("203.0.113.7"), info, 1), "203.0.113.7");
  // Entries left of the trusted ones are the client's own claims.
  assert.equal(clientAddressOf(forwarded("6.6.6.6, 203.0.113.7"), info, 1), "203.0.113.7");
  assert.equal(
    clientAddressOf(forwarded("6.6.6.6, 203.0.113.7, 10.0.0.2"), info, 2),
    "203.0.113.7",
  );
  // Fewer hops than trusted: the furthest one known.
  assert.equal(clientAddressOf(forwarded("203.0.113.7"), info, 3), "203.0.113.7");
  assert.equal(clientAddressOf(forwarded(), undefined, 0), "");
  assert.equal(clientAddressOf(forwarded("x".repeat(5000)), info, 1).length, 100);
});

Deno.test("without TRUST_PROXY a forged X-Forwarded-For does not escape the lock-out", async () => {
  await using srv = await startTestServer({ LOGIN_MAX_FAILURES: "2", LOGIN_FAILURE_WINDOW: "1m" });
  await makeUser(srv.core, { username: "cal" });
  assert.equal((await attempt(srv, "cal", "wrong-guess", "10.1.1.1")).status, 401);
  assert.equal((await attempt(srv, "cal", "wrong-guess", "10.1.1.2")).status, 401);
  assert.equal((await attempt(srv, "cal", PASSWORD, "10.1.1.3")).status, 429);
});

Deno.test("behind a trusted proxy, failures lock out their own address only", async () => {
  await using srv = await startTestServer({
    LOGIN_MAX_FAILURES: "2",
    LOGIN_FAILURE_WINDOW: "1m",
    TRUST_PROXY: "1",
    LOGIN_SLOWDOWN_MAX: "0",
  });
  await makeUser(srv.core, { username: "cal" });
  for (let i = 0; i < 2; i++) {
    assert.equal((await attempt(srv, "cal", "wrong-guess", "198.51.100.9")).status, 401);
  }
  const locked = await attempt(srv, "cal", PASSWORD, "198.51.100.9");
  assert.equal(locked.status, 429);
  assert.ok(Number(locked.headers.get("retry-after")) > 0);
  assert.equal((await attempt(srv, "cal", PASSWORD, "203.0.113.7")).status, 200);
});

Deno.test("failures from many addresses slow a login name down but never lock its owner out", async () => {
  await using srv = await startTestServer({
    LOGIN_MAX_FAILURES: "2",
    LOGIN_FAILURE_WINDOW: "1m",
    TRUST_PROXY: "1",
    LOGIN_SLOWDOWN_MAX: "1s",
  });
  await makeUser(srv.core, { username: "cal" });
  assert.equal(srv.core.accounts.loginDelay("cal"), 0);
  assert.equal((await attempt(srv, "cal", "wrong-guess", "198.51.100.1")).status, 401);
  assert.equal((await attempt(srv, "cal", "wrong-guess", "198.51.100.2")).status, 401);
  // No pair is locked, but the name has failed twice from everywhere: it is slowed.
  assert.equal(srv.core.accounts.loginDelay("cal"), 1000);
  assert.equal(srv.core.accounts.loginDelay("CAL"), 1000, "login names are case-blind");
  assert.equal(srv.core.accounts.loginDelay("someone-else"), 0);
  // The owner, from an address of their own, gets in.
  assert.equal((await attempt(srv, "cal", PASSWORD, "203.0.113.7")).status, 200);
  // Their success gives back only their own attempt: the guesses still count.
  assert.equal(srv.core.accounts.loginDelay("cal"), 1000);
});

Deno.test("the slow-down starts at the failure limit, doubles from one second and is capped", () => {
  const delays = [0, 1, 2, 3, 4, 5, 6, 7, 40].map((failures) => slowdownMs(failures, 3, 10_000));
  assert.deepEqual(delays, [0, 0, 0, 1000, 2000, 4000, 8000, 10_000, 10_000]);
});

const throttled = (srv: TestServer, limit: string) =>
  counterValue(srv.metrics.throttled, { limit });

/** The desk /login/ form, posted as a browser would. */
async function loginForm(srv: TestServer, username: string, password: string, from?: string) {
  const res = await fetch(`${srv.url}/login/`, {
    method: "POST",
    body: new URLSearchParams({ username, password }),
    headers: from ? { "x-forwarded-for": from } : {},
    redirect: "manual",
  });
  return { status: res.status, headers: res.headers, html: await res.text() };
}

/** Holds every slot and queue place of the hashing bound until the returned function runs. */
function occupyHashing(srv: TestServer, places: number): () => Promise<void> {
  const release = Promise.withResolvers<void>();
  const held = Array.from(
    { length: places },
    () => srv.core.passwordHashing!.run(() => release.promise),
  );
  return async () => {
    release.resolve();
    await Promise.all(held);
  };
}

Deno.test("logins and sign-ups past an address's budget get 429 with Retry-After; other addresses go on", async () => {
  await using srv = await startTestServer({ TRUST_PROXY: "1", LOGIN_RATE: "1", LOGIN_BURST: "2" });
  await makeUser(srv.core, { username: "cal" });
  const here = "198.51.100.7";
  assert.equal((await attempt(srv, "ghost-a", "wrong-guess", here)).status, 401);
  assert.equal((await attempt(srv, "ghost-b", "wrong-guess", here)).status, 401);
  const refused = await attempt(srv, "cal", PASSWORD, here);
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get("retry-after"), "1");
  assert.match(refused.body.detail, /throttled/);
  const signUp = await api(srv, "POST", "/auth/register/", {
    body: { email: "new@example.com", name: "New One", password: PASSWORD },
    headers: { "x-forwarded-for": here },
  });
  assert.equal(signUp.status, 429);
  assert.ok(Number(signUp.headers.get("retry-after")) > 0);
  const page = await loginForm(srv, "cal", PASSWORD, here);
  assert.equal(page.status, 429);
  assert.ok(Number(page.headers.get("retry-after")) > 0);
  assert.match(page.html, /Too many sign-in attempts\. Try again in 1 second\./);
  assert.equal(await throttled(srv, "login"), 2);
  assert.equal(await throttled(srv, "register"), 1);

  assert.equal((await attempt(srv, "cal", PASSWORD, "203.0.113.7")).status, 200);
});

Deno.test("token refreshes past an address's budget get 429 with Retry-After, on both faces", async () => {
  await using srv = await startTestServer({
    TRUST_PROXY: "1",
    REFRESH_RATE: "1",
    REFRESH_BURST: "2",
  });
  const who = await person(srv);
  let token = who.refresh;
  const refresh = async (path: string, from: string) => {
    const reply = await api(srv, "POST", path, {
      body: { refresh: token },
      headers: { "x-forwarded-for": from },
    });
    token = reply.body.refresh ?? token; // rotated when REFRESH_ROTATION is on
    return reply;
  };
  const here = "198.51.100.8";
  assert.equal((await refresh("/api/token/refresh/", here)).status, 200);
  assert.equal((await refresh("/auth/token/refresh/", here)).status, 200);
  for (const path of ["/api/token/refresh/", "/auth/token/refresh/"]) {
    const refused = await refresh(path, here);
    assert.equal(refused.status, 429, path);
    assert.equal(refused.headers.get("retry-after"), "1");
  }
  assert.equal(await throttled(srv, "refresh"), 2);
  assert.equal((await refresh("/api/token/refresh/", "203.0.113.7")).status, 200);
});

Deno.test("with the hashing queue full, logins get 503 with Retry-After, on the API and the /login/ page", async () => {
  await using srv = await startTestServer({ PASSWORD_CONCURRENCY: "1", PASSWORD_QUEUE: "1" });
  await makeUser(srv.core, { username: "cal" });
  const release = occupyHashing(srv, 2);

  const desk = await attempt(srv, "cal", PASSWORD);
  assert.equal(desk.status, 503);
  assert.equal(desk.headers.get("retry-after"), "1");
  assert.match(desk.body.detail, /busy/);
  const meet = await api(srv, "POST", "/auth/login/", {
    body: { email: "cal", password: PASSWORD },
  });
  assert.equal(meet.status, 503);
  assert.equal(meet.headers.get("retry-after"), "1");
  const page = await loginForm(srv, "cal", PASSWORD);
  assert.equal(page.status, 503);
  assert.equal(page.headers.get("retry-after"), "1");
  assert.match(page.html, /The server is busy\. Try again in 1 second\./);
  assert.equal(await throttled(srv, "password_hashing"), 3);

  await release();
  assert.equal((await attempt(srv, "cal", PASSWORD)).status, 200);
});

Deno.test("/healthz answers while a storm of logins is hashing", async () => {
  await using srv = await startTestServer({
    PASSWORD_ITERATIONS: "1000000",
    PASSWORD_CONCURRENCY: "2",
    PASSWORD_QUEUE: "8",
  });
  const storm = Array.from({ length: 30 }, (_, i) => attempt(srv, `ghost${i}`, "wrong-guess"));
  const gate = srv.core.passwordHashing!;
  await waitFor(() => gate.running === 2, { what: "the storm to fill the hashing slots" });
  const health = await fetch(`${srv.url}/healthz`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: "ok" });

  const replies = await Promise.all(storm);
  for (const reply of replies) {
    assert.ok(reply.status === 401 || reply.status === 503, String(reply.status));
    if (reply.status === 503) assert.equal(reply.headers.get("retry-after"), "1");
  }
  assert.ok(gate.peak <= 2, `peak ${gate.peak}`);
});
