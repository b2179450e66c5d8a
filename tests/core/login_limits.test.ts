// The limits on logins, registrations and password hashing, in the core: per client address
// (token buckets) and a bound on the hashes computed at once.
import assert from "node:assert/strict";
import { AuthenticationError, Overloaded, RateLimited } from "@/lib/errors.ts";
import { createGate } from "@/lib/gate.ts";
import { engines, makeUser, openTestCore, PASSWORD, refusal } from "../fixtures/mod.ts";

engines.test("a gate runs at most its concurrency, queues up to its bound and refuses the rest", async () => {
  let refusals = 0;
  const gate = createGate({ concurrency: 2, queue: 3, onRefused: () => refusals++ });
  const release = Promise.withResolvers<void>();
  let started = 0;
  const task = async () => {
    started++;
    await release.promise;
  };
  const admitted = Array.from({ length: 5 }, () => gate.run(task));
  await Promise.resolve();
  assert.equal(gate.running, 2);
  assert.equal(gate.queued, 3);
  assert.equal(started, 2, "the queued ones have not started");
  const err = await refusal(gate.run(task), Overloaded);
  assert.equal(err.retryAfter, 1);
  assert.equal(refusals, 1);

  release.resolve();
  await Promise.all(admitted);
  assert.equal(started, 5);
  assert.equal(gate.peak, 2);
  assert.equal(gate.running, 0);
  assert.equal(gate.queued, 0);
  // A failing task gives its slot back too.
  await assert.rejects(gate.run(() => Promise.reject(new Error("boom"))), /boom/);
  assert.equal(gate.running, 0);
});

engines.test("parallel logins never hash more passwords at once than the bound", async () => {
  await using t = await openTestCore({ passwordConcurrency: 2, passwordQueue: 100 });
  const { user } = await makeUser(t.core);
  const attempts = Array.from(
    { length: 24 },
    (_, i) =>
      i % 3 === 0
        ? t.core.accounts.login(user.username, PASSWORD)
        : t.core.accounts.login(i % 3 === 1 ? `ghost${i}` : user.username, "wrong-guess"),
  );
  const results = await Promise.allSettled(attempts);
  assert.equal(results.filter((r) => r.status === "fulfilled").length, 8);
  for (const r of results) {
    if (r.status === "rejected") assert.ok(r.reason instanceof AuthenticationError, r.reason);
  }
  const gate = t.core.passwordHashing!;
  assert.ok(gate.peak >= 1 && gate.peak <= 2, `peak ${gate.peak}`);
  assert.equal(gate.running, 0);
});

engines.test("a full hashing queue refuses logins and sign-ups with Overloaded, and counts nothing against the name", async () => {
  await using t = await openTestCore({
    passwordConcurrency: 1,
    passwordQueue: 1,
    loginMaxFailures: 1,
  });
  const { user } = await makeUser(t.core);
  const gate = t.core.passwordHashing!;
  const release = Promise.withResolvers<void>();
  const busy = [gate.run(() => release.promise), gate.run(() => release.promise)];

  await refusal(t.core.accounts.login(user.username, PASSWORD, "192.0.2.1"), Overloaded);
  await refusal(
    t.core.accounts.register({ email: "new@example.com", name: "New One", password: PASSWORD }),
    Overloaded,
  );
  release.resolve();
  await Promise.all(busy);
  // The refused attempt never reached the password: the pair (limit 1) is not locked.
  const pair = await t.core.accounts.login(user.username, PASSWORD, "192.0.2.1");
  assert.equal(pair.user.id, user.id);
});

engines.test("logins and sign-ups share a per-address budget; in-process callers have none", async () => {
  await using t = await openTestCore({ loginRate: 1, loginBurst: 2 });
  const { user } = await makeUser(t.core);
  const here = "198.51.100.4";
  await refusal(t.core.accounts.login("ghost-a", "wrong-guess", here), AuthenticationError);
  await refusal(t.core.accounts.login("ghost-b", "wrong-guess", here), AuthenticationError);
  const err = await refusal(t.core.accounts.login(user.username, PASSWORD, here), RateLimited);
  assert.equal(err.retryAfter, 1);
  await refusal(
    t.core.accounts.register({ email: "late@example.com", name: "Late", password: PASSWORD }, here),
    RateLimited,
  );
  // Another address, and the core's own callers (scripts, no address), are not affected.
  assert.equal(
    (await t.core.accounts.login(user.username, PASSWORD, "203.0.113.5")).user.id,
    user.id,
  );
  assert.equal((await t.core.accounts.login(user.username, PASSWORD)).user.id, user.id);
  // The bucket refills with the clock.
  t.clock.now += 1000;
  assert.equal((await t.core.accounts.login(user.username, PASSWORD, here)).user.id, user.id);
});
