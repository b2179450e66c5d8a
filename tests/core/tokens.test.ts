// Access and refresh tokens: SimpleJWT's claims, strict verification, refresh without rotation
// (the default) and with it (reuse detection, a leeway for a just-replaced token), logout,
// deactivation and password changes ending sessions.
import assert from "node:assert/strict";
import { SignJWT } from "jose";
import { createCore } from "@/lib/core.ts";
import { AuthenticationError } from "@/lib/errors.ts";
import { detailOf } from "@/routes/wording.ts";
import { engines, makeUser, openTestCore, refusal } from "../fixtures/mod.ts";

const ACCESS_TTL = 3600;
const REFRESH_TTL = 7 * 86400;
const LEEWAY = 10;

/** REFRESH_ROTATION on with the default leeway; `strict` has none. */
const rotating = { refreshRotation: true, refreshReuseLeeway: LEEWAY };
const strict = { refreshRotation: true, refreshReuseLeeway: 0 };

/** A refusal worded "Token is blacklisted". */
const blacklisted = (err: AuthenticationError) => detailOf(err) === "Token is blacklisted";

/** Asserts that `promise` is refused as token_not_valid, with `detail` when given. */
async function assertTokenRefused(promise: Promise<unknown>, detail?: string) {
  const err = await refusal(promise, AuthenticationError);
  assert.equal(err.code, "token_not_valid");
  if (detail !== undefined) assert.equal(detailOf(err), detail);
}

function base64url(text: string): string {
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64url(part: string): string {
  const b64 = part.replaceAll("-", "+").replaceAll("_", "/");
  return atob(b64 + "=".repeat((4 - b64.length % 4) % 4));
}

/** The header and payload of a JWT, decoded by hand. */
function decodeJwt(token: string): { header: Record<string, unknown>; payload: Claims } {
  const parts = token.split(".");
  assert.equal(parts.length, 3, token);
  return {
    header: JSON.parse(fromBase64url(parts[0])),
    payload: JSON.parse(fromBase64url(parts[1])),
  };
}

interface Claims {
  token_type: string;
  user_id: number;
  jti: string;
  sid: string;
  iat: number;
  exp: number;
}

engines.test("issue() returns HS256 access and refresh JWTs with SimpleJWT's claims and lifetimes", async () => {
  await using t = await openTestCore();
  const { user } = await makeUser(t.core);
  const pair = await t.core.tokens.issue(user.id);
  const access = decodeJwt(pair.access);
  const refresh = decodeJwt(pair.refresh);

  assert.equal(access.header.alg, "HS256");
  assert.equal(refresh.header.alg, "HS256");
  assert.equal(access.payload.token_type, "access");
  assert.equal(refresh.payload.token_type, "refresh");
  for (const { payload } of [access, refresh]) {
    assert.equal(payload.user_id, user.id);
    assert.equal(typeof payload.jti, "string");
    assert.ok(payload.jti.length >= 16);
    assert.equal(payload.iat, Math.floor(t.clock.now / 1000));
  }
  assert.equal(access.payload.exp - access.payload.iat, ACCESS_TTL);
  assert.equal(refresh.payload.exp - refresh.payload.iat, REFRESH_TTL);
  assert.notEqual(access.payload.jti, refresh.payload.jti);
  assert.equal(access.payload.sid, refresh.payload.sid, "both belong to one session");

  const session = await t.database.db.selectFrom("sessions").selectAll()
    .where("id", "=", access.payload.sid).executeTakeFirstOrThrow();
  assert.equal(session.user_id, user.id);
  assert.equal(session.revoked_at, null);
});

engines.test("the access lifetime follows the configured accessTokenTtl", async () => {
  await using t = await openTestCore({ accessTokenTtl: 300 });
  const { user } = await makeUser(t.core);
  const { payload } = decodeJwt((await t.core.tokens.issue(user.id)).access);
  assert.equal(payload.exp - payload.iat, 300);
});

engines.test("an access token authenticates its user and session", async () => {
  await using t = await openTestCore();
  const { user } = await makeUser(t.core);
  const pair = await t.core.tokens.issue(user.id);
  const principal = await t.core.tokens.authenticate(pair.access);
  assert.equal(principal.user.id, user.id);
  assert.equal(principal.user.username, user.username);
  assert.equal(principal.sessionId, decodeJwt(pair.access).payload.sid);
});

engines.test("a refresh token is refused as an access token and an access token is refused by refresh()", async () => {
  await using t = await openTestCore();
  const { user } = await makeUser(t.core);
  const pair = await t.core.tokens.issue(user.id);
  await assertTokenRefused(
    t.core.tokens.authenticate(pair.refresh),
    "Given token not valid for any token type",
  );
  await assertTokenRefused(t.core.tokens.refresh(pair.access), "Token is invalid or expired");
  // Neither refusal spent anything: the pair still works.
  assert.equal((await t.core.tokens.authenticate(pair.access)).user.id, user.id);
  assert.ok((await t.core.tokens.refresh(pair.refresh)).access);
});

engines.test("an unsigned alg=none token with valid claims is refused", async () => {
  await using t = await openTestCore();
  const { user } = await makeUser(t.core);
  const { payload } = decodeJwt((await t.core.tokens.issue(user.id)).access);
  const header = base64url(JSON.stringify({ alg: "none", typ: "JWT" }));
  const forged = `${header}.${base64url(JSON.stringify(payload))}.`;
  await assertTokenRefused(t.core.tokens.authenticate(forged));
  const refreshClaims = { ...payload, token_type: "refresh" };
  await assertTokenRefused(
    t.core.tokens.refresh(`${header}.${base64url(JSON.stringify(refreshClaims))}.`),
  );
});

engines.test("a token signed with another key is refused even with a live session id", async () => {
  await using t = await openTestCore();
  const { user } = await makeUser(t.core);
  const genuine = decodeJwt((await t.core.tokens.issue(user.id)).access).payload;
  const otherKey = new TextEncoder().encode("another-secret-of-at-least-thirty-two-chars");
  const forged = await new SignJWT({
    token_type: "access",
    user_id: user.id,
    sid: genuine.sid,
  })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setJti(genuine.jti)
    .setIssuedAt(genuine.iat)
    .setExpirationTime(genuine.exp)
    .sign(otherKey);
  await assertTokenRefused(t.core.tokens.authenticate(forged));

  // The same claims signed with the service's key are accepted: only the key was wrong.
  const sameKey = await new SignJWT({ token_type: "access", user_id: user.id, sid: genuine.sid })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setJti(genuine.jti)
    .setIssuedAt(genuine.iat)
    .setExpirationTime(genuine.exp)
    .sign(new TextEncoder().encode("test-secret-of-at-least-thirty-two-characters"));
  assert.equal((await t.core.tokens.authenticate(sameKey)).user.id, user.id);
});

engines.test("garbage strings are refused as tokens", async () => {
  await using t = await openTestCore();
  for (const garbage of ["", "garbage", "a.b.c", "....", "eyJhbGciOiJIUzI1NiJ9.e30.", "🙂.🙂.🙂"]) {
    await assertTokenRefused(t.core.tokens.authenticate(garbage));
    await assertTokenRefused(t.core.tokens.refresh(garbage), "Token is invalid or expired");
    await assertTokenRefused(t.core.tokens.logoutWithRefresh(garbage));
  }
});

engines.test("an access token is refused once its lifetime has passed", async () => {
  await using t = await openTestCore();
  const { user } = await makeUser(t.core);
  const pair = await t.core.tokens.issue(user.id);
  t.clock.now += (ACCESS_TTL - 5) * 1000;
  assert.equal((await t.core.tokens.authenticate(pair.access)).user.id, user.id);
  t.clock.now += 10 * 1000;
  await assertTokenRefused(t.core.tokens.authenticate(pair.access));
  // The refresh token lives longer and still yields a working pair.
  const next = await t.core.tokens.refresh(pair.refresh);
  assert.equal((await t.core.tokens.authenticate(next.access)).user.id, user.id);
});

engines.test("authenticateAgain remembers a verified token until it expires and verifies any other", async () => {
  await using t = await openTestCore();
  const { user } = await makeUser(t.core);
  const { user: other } = await makeUser(t.core);
  const pair = await t.core.tokens.issue(user.id);
  const first = await t.core.tokens.authenticateAgain(pair.access, undefined);
  assert.equal(first.principal.user.id, user.id);
  assert.equal(first.expiresAt, decodeJwt(pair.access).payload.exp * 1000);

  // Its session ends without the connection hearing of it (a real one is closed then):
  // the same token is not looked up again, a new verification refuses it.
  await t.database.db.deleteFrom("sessions").where("id", "=", first.principal.sessionId)
    .execute();
  assert.equal(await t.core.tokens.authenticateAgain(pair.access, first), first);
  await assertTokenRefused(t.core.tokens.authenticateAgain(pair.access, undefined));

  // Another token is verified in full, whoever it names.
  const theirs = await t.core.tokens.issue(other.id);
  const second = await t.core.tokens.authenticateAgain(theirs.access, first);
  assert.equal(second.principal.user.id, other.id);
  await assertTokenRefused(t.core.tokens.authenticateAgain("not.a.token", first));

  // Past its expiry the remembered token is verified again, and refused.
  t.clock.now = first.expiresAt;
  await assertTokenRefused(t.core.tokens.authenticateAgain(pair.access, first));
});

engines.test("a refresh token is refused once its lifetime has passed", async () => {
  await using t = await openTestCore();
  const { user } = await makeUser(t.core);
  const pair = await t.core.tokens.issue(user.id);
  t.clock.now += (REFRESH_TTL + 1) * 1000;
  await assertTokenRefused(t.core.tokens.refresh(pair.refresh), "Token is invalid or expired");
});

engines.test("with rotation, refresh rotates the pair; reusing the old refresh token past the leeway is blacklisted and revokes its whole session", async () => {
  await using t = await openTestCore(rotating);
  const { user } = await makeUser(t.core);
  const first = await t.core.tokens.issue(user.id);
  const sid = decodeJwt(first.refresh).payload.sid;

  const second = await t.core.tokens.refresh(first.refresh);
  assert.ok(second.refresh);
  assert.notEqual(second.refresh, first.refresh);
  assert.notEqual(decodeJwt(second.refresh!).payload.jti, decodeJwt(first.refresh).payload.jti);
  assert.equal(decodeJwt(second.refresh!).payload.sid, sid, "rotation keeps the session");
  assert.equal((await t.core.tokens.authenticate(second.access)).user.id, user.id);
  const third = await t.core.tokens.refresh(second.refresh!);
  assert.equal((await t.core.tokens.authenticate(third.access)).user.id, user.id);

  t.clock.now += LEEWAY * 1000 + 1;
  await assertTokenRefused(t.core.tokens.refresh(first.refresh), "Token is blacklisted");

  // The whole token family is dead: every access and refresh token of the session.
  for (const access of [first.access, second.access, third.access]) {
    await assertTokenRefused(t.core.tokens.authenticate(access));
  }
  await assertTokenRefused(t.core.tokens.refresh(third.refresh!));
  const session = await t.database.db.selectFrom("sessions").select("revoked_at")
    .where("id", "=", sid).executeTakeFirstOrThrow();
  assert.equal(session.revoked_at, t.clock.now);
  const revoked = t.events.filter((e) => e.event.type === "session.revoked");
  assert.deepEqual(revoked, [{
    topic: `user:${user.id}`,
    event: { type: "session.revoked", userId: user.id, sessionId: sid },
  }]);
});

engines.test("with rotation and no leeway, two concurrent refreshes of one refresh token: exactly one succeeds", async () => {
  await using t = await openTestCore(strict);
  const { user } = await makeUser(t.core);
  const pair = await t.core.tokens.issue(user.id);
  const results = await Promise.allSettled([
    t.core.tokens.refresh(pair.refresh),
    t.core.tokens.refresh(pair.refresh),
  ]);
  const won = results.filter((r) => r.status === "fulfilled");
  const lost = results.filter((r) => r.status === "rejected");
  assert.equal(won.length, 1);
  assert.equal(lost.length, 1);
  const reason = (lost[0] as PromiseRejectedResult).reason;
  assert.ok(reason instanceof AuthenticationError, String(reason));
  assert.equal(reason.code, "token_not_valid");
  assert.equal(detailOf(reason), "Token is blacklisted");
  const used = await t.database.db.selectFrom("refresh_tokens").select("used_at")
    .where("jti", "=", decodeJwt(pair.refresh).payload.jti).executeTakeFirstOrThrow();
  assert.equal(used.used_at, t.clock.now);
  const issued = await t.database.db.selectFrom("refresh_tokens").select("jti")
    .where("session_id", "=", decodeJwt(pair.refresh).payload.sid).execute();
  assert.equal(issued.length, 2, "the original and exactly one rotated refresh token");
});

engines.test("ending a session kills its tokens but not the user's other sessions", async () => {
  await using t = await openTestCore();
  const { user } = await makeUser(t.core);
  const phone = await t.core.tokens.issue(user.id);
  const laptop = await t.core.tokens.issue(user.id);
  const phoneSession = (await t.core.tokens.authenticate(phone.access)).sessionId;

  await t.core.tokens.endSession(user.id, phoneSession);
  await assertTokenRefused(t.core.tokens.authenticate(phone.access));
  await assertTokenRefused(t.core.tokens.refresh(phone.refresh));

  assert.equal((await t.core.tokens.authenticate(laptop.access)).user.id, user.id);
  const rotated = await t.core.tokens.refresh(laptop.refresh);
  assert.equal((await t.core.tokens.authenticate(rotated.access)).user.id, user.id);
  assert.deepEqual(
    t.events.filter((e) => e.event.type === "session.revoked").map((e) => e.event),
    [{ type: "session.revoked", userId: user.id, sessionId: phoneSession }],
  );
});

engines.test("logout with a refresh token kills that session only", async () => {
  await using t = await openTestCore();
  const { user } = await makeUser(t.core);
  const phone = await t.core.tokens.issue(user.id);
  const laptop = await t.core.tokens.issue(user.id);

  await t.core.tokens.logoutWithRefresh(phone.refresh);
  await assertTokenRefused(t.core.tokens.authenticate(phone.access));
  await assertTokenRefused(t.core.tokens.refresh(phone.refresh));

  assert.equal((await t.core.tokens.authenticate(laptop.access)).user.id, user.id);
  assert.ok((await t.core.tokens.refresh(laptop.refresh)).access);
  // Logout needs a refresh token, not an access token.
  await assertTokenRefused(t.core.tokens.logoutWithRefresh(laptop.access));
});

engines.test("deactivating a user kills their tokens and tells their connections", async () => {
  await using t = await openTestCore();
  const { user } = await makeUser(t.core);
  const { user: other } = await makeUser(t.core);
  const pair = await t.core.tokens.issue(user.id);
  const otherPair = await t.core.tokens.issue(other.id);

  await t.core.accounts.deactivate(user.id);
  await assertTokenRefused(t.core.tokens.authenticate(pair.access));
  await assertTokenRefused(t.core.tokens.refresh(pair.refresh));
  assert.equal((await t.core.tokens.authenticate(otherPair.access)).user.id, other.id);

  const deactivated = t.events.filter((e) => e.event.type === "user.deactivated");
  assert.deepEqual(deactivated, [{
    topic: `user:${user.id}`,
    event: { type: "user.deactivated", userId: user.id },
  }]);
  const kept = await t.core.accounts.get(user.id);
  assert.equal(kept.isActive, false);
  assert.equal(kept.username, user.username, "without anonymise the profile stays");
  assert.equal(kept.email, user.email);
});

engines.test("deactivating with anonymise renames the user deleted-<id> and drops the e-mail", async () => {
  await using t = await openTestCore();
  const { user, password } = await makeUser(t.core, { firstName: "Rosalind", lastName: "F" });
  const pair = await t.core.tokens.issue(user.id);

  await t.core.accounts.deactivate(user.id, { anonymise: true });
  const row = await t.database.db.selectFrom("users").selectAll().where("id", "=", user.id)
    .executeTakeFirstOrThrow();
  assert.equal(row.username, `deleted-${user.id}`);
  assert.equal(row.email, null);
  assert.equal(row.first_name, "");
  assert.equal(row.last_name, "");
  assert.equal(row.is_active, 0);
  await assertTokenRefused(t.core.tokens.authenticate(pair.access));
  await assert.rejects(t.core.accounts.authenticate(`deleted-${user.id}`, password));
  // The old e-mail is free for a new account.
  const again = await t.core.accounts.create({
    username: "rosalind2",
    email: user.email,
    password: "pleasant-walrus-42",
  });
  assert.equal(again.email, user.email);
});

engines.test("changing the password ends every session of the user", async () => {
  await using t = await openTestCore();
  const { user, password } = await makeUser(t.core);
  const a = await t.core.tokens.issue(user.id);
  const b = await t.core.tokens.issue(user.id);

  await t.core.accounts.changePassword(user.id, "brand-new-otter-77");
  for (const pair of [a, b]) {
    await assertTokenRefused(t.core.tokens.authenticate(pair.access));
    await assertTokenRefused(t.core.tokens.refresh(pair.refresh));
  }
  const err = await refusal(
    t.core.accounts.authenticate(user.username, password),
    AuthenticationError,
  );
  assert.equal(err.code, "authentication_failed");
  const login = await t.core.accounts.login(user.username, "brand-new-otter-77");
  assert.equal((await t.core.tokens.authenticate(login.access)).user.id, user.id);
  assert.equal(t.events.filter((e) => e.event.type === "session.revoked").length, 2);
});

engines.test("with rotation, replaying a refresh token of an already revoked session announces no second revocation", async () => {
  await using t = await openTestCore(strict);
  const { user } = await makeUser(t.core);
  const pair = await t.core.tokens.issue(user.id);
  await t.core.tokens.refresh(pair.refresh);
  await assert.rejects(t.core.tokens.refresh(pair.refresh), blacklisted);
  await assert.rejects(t.core.tokens.refresh(pair.refresh), blacklisted);
  const revocations = t.events.filter((e) => e.event.type === "session.revoked");
  assert.equal(revocations.length, 1);
});

// --- Without rotation (the default) ---------------------------------------------------------

engines.test("by default a refresh answers an access token only, and the refresh token keeps working", async () => {
  await using t = await openTestCore();
  const { user } = await makeUser(t.core);
  const pair = await t.core.tokens.issue(user.id);
  const first = await t.core.tokens.refresh(pair.refresh);
  t.clock.now += 48 * 3600 * 1000; // the original meet front-end's second refresh
  const second = await t.core.tokens.refresh(pair.refresh);
  for (const refreshed of [first, second]) {
    assert.deepEqual(Object.keys(refreshed), ["access"]);
    const { payload } = decodeJwt(refreshed.access);
    assert.equal(payload.token_type, "access");
    assert.equal(payload.sid, decodeJwt(pair.refresh).payload.sid, "the same session");
  }
  assert.equal((await t.core.tokens.authenticate(second.access)).user.id, user.id);
  const rows = await t.database.db.selectFrom("refresh_tokens").selectAll().execute();
  assert.equal(rows.length, 1, "no refresh token was added");
  assert.equal(rows[0].used_at, null);
  assert.equal(t.events.filter((e) => e.event.type === "session.revoked").length, 0);
});

engines.test("by default two parallel refreshes of one token both succeed", async () => {
  await using t = await openTestCore();
  const { user } = await makeUser(t.core);
  const pair = await t.core.tokens.issue(user.id);
  const both = await Promise.all([
    t.core.tokens.refresh(pair.refresh),
    t.core.tokens.refresh(pair.refresh),
  ]);
  for (const { access } of both) {
    assert.equal((await t.core.tokens.authenticate(access)).user.id, user.id);
  }
  assert.ok((await t.core.tokens.refresh(pair.refresh)).access, "and it still works after");
});

engines.test("by default logout and deactivation end the refresh token with its session", async () => {
  await using t = await openTestCore();
  const { user } = await makeUser(t.core);
  const phone = await t.core.tokens.issue(user.id);
  const laptop = await t.core.tokens.issue(user.id);
  const refreshed = await t.core.tokens.refresh(phone.refresh);

  await t.core.tokens.logoutWithRefresh(phone.refresh);
  await assertTokenRefused(t.core.tokens.refresh(phone.refresh), "Token is invalid or expired");
  await assertTokenRefused(t.core.tokens.authenticate(refreshed.access));
  assert.ok((await t.core.tokens.refresh(laptop.refresh)).access, "another session lives on");

  await t.core.accounts.deactivate(user.id);
  await assertTokenRefused(t.core.tokens.refresh(laptop.refresh), "Token is invalid or expired");
});

engines.test("a refresh token replaced while rotation was on stays refused after it is turned off", async () => {
  await using t = await openTestCore(strict);
  const { user } = await makeUser(t.core);
  const first = await t.core.tokens.issue(user.id);
  const second = await t.core.tokens.refresh(first.refresh);
  // The same database, restarted with rotation off.
  const plain = createCore({
    db: t.database.db,
    events: { publish() {} },
    now: () => t.clock.now,
    settings: {
      jwtSecret: "test-secret-of-at-least-thirty-two-characters",
      accessTokenTtl: ACCESS_TTL,
      refreshTokenTtl: REFRESH_TTL,
      passwordIterations: 1000,
      passwordMinLength: 8,
      messageMaxLength: 4000,
      loginMaxFailures: 10,
      loginFailureWindow: 900,
    },
  });
  await assertTokenRefused(plain.tokens.refresh(first.refresh), "Token is blacklisted");
  assert.ok((await plain.tokens.refresh(second.refresh!)).access);
  assert.ok((await plain.tokens.refresh(second.refresh!)).access, "and again: no rotation");
});

// --- With rotation: the reuse leeway --------------------------------------------------------

engines.test("with rotation, the just-replaced token gets the same pair again within the leeway and revokes the session after it", async () => {
  await using t = await openTestCore(rotating);
  const { user } = await makeUser(t.core);
  const first = await t.core.tokens.issue(user.id);
  const second = await t.core.tokens.refresh(first.refresh);

  t.clock.now += LEEWAY * 1000;
  const again = await t.core.tokens.refresh(first.refresh);
  assert.deepEqual(again, second, "the very same access and refresh tokens");
  assert.equal((await t.core.tokens.authenticate(again.access)).user.id, user.id);
  const rows = await t.database.db.selectFrom("refresh_tokens").selectAll().execute();
  assert.equal(rows.length, 2, "nothing new was issued");
  assert.equal(t.events.filter((e) => e.event.type === "session.revoked").length, 0);

  t.clock.now += 1;
  await assertTokenRefused(t.core.tokens.refresh(first.refresh), "Token is blacklisted");
  await assertTokenRefused(t.core.tokens.authenticate(second.access));
  await assertTokenRefused(t.core.tokens.refresh(second.refresh!));
  assert.equal(t.events.filter((e) => e.event.type === "session.revoked").length, 1);
});

engines.test("with rotation, two parallel refreshes of one token both get the same pair", async () => {
  await using t = await openTestCore(rotating);
  const { user } = await makeUser(t.core);
  const pair = await t.core.tokens.issue(user.id);
  const [a, b] = await Promise.all([
    t.core.tokens.refresh(pair.refresh),
    t.core.tokens.refresh(pair.refresh),
  ]);
  assert.deepEqual(a, b);
  assert.notEqual(a.refresh, pair.refresh);
  assert.equal((await t.core.tokens.authenticate(a.access)).user.id, user.id);
  const next = await t.core.tokens.refresh(a.refresh!);
  assert.ok(next.refresh, "the shared successor rotates on as usual");
});

engines.test("with rotation, a logged-out session gets nothing back within the leeway", async () => {
  await using t = await openTestCore(rotating);
  const { user } = await makeUser(t.core);
  const first = await t.core.tokens.issue(user.id);
  const second = await t.core.tokens.refresh(first.refresh);
  await t.core.tokens.logoutWithRefresh(second.refresh!);
  await assertTokenRefused(t.core.tokens.refresh(first.refresh));
  await assertTokenRefused(t.core.tokens.refresh(second.refresh!));
  await assertTokenRefused(t.core.tokens.authenticate(second.access));
});
