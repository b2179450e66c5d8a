// Who a client is behind a proxy, and the login limits keyed on it: a lock-out per login name
// and address, a slow-down per login name over all addresses.
import assert from "node:assert/strict";
import { slowdownMs } from "@/lib/accounts.ts";
import { clientAddressOf } from "@/routes/context.ts";
import { api, makeUser, PASSWORD, startTestServer, type TestServer } from "../fixtures/mod.ts";

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
