// Password hashes in Django's format, Django's password validators, and the account rules
// built on them: creation, login by username or e-mail, deactivation and rehashing.
import assert from "node:assert/strict";
import { AuthenticationError, ValidationError } from "@/lib/errors.ts";
import { detailOf, fieldErrors, problemText } from "@/routes/wording.ts";
import { hashPassword, passwordProblems, verifyPassword } from "@/lib/passwords.ts";
import { makeUser, openTestCore, refusal, TEST_ITERATIONS } from "../fixtures/mod.ts";

const DJANGO_PASSWORD = "correct horse battery staple";
const DJANGO_HASH =
  "pbkdf2_sha256$870000$Jx8sG3kQz1Lm$/zEVan57MOk4pEspn/ej9Q+oVSS/1gGKdoLoEIj6fzo=";

const HASH_FORMAT = /^pbkdf2_sha256\$(\d+)\$([A-Za-z0-9]+)\$([A-Za-z0-9+/]{43}=)$/;

const TOO_SHORT = "This password is too short. It must contain at least 8 characters.";
const TOO_COMMON = "This password is too common.";
const NUMERIC = "This password is entirely numeric.";
const TOO_SIMILAR = "The password is too similar to your personal information.";

Deno.test("a hash made by Django verifies with its password and not with another", async () => {
  assert.equal(await verifyPassword(DJANGO_PASSWORD, DJANGO_HASH), true);
  assert.equal(await verifyPassword("correct horse battery stapler", DJANGO_HASH), false);
  assert.equal(await verifyPassword("", DJANGO_HASH), false);
});

Deno.test("tampered hashes, unknown algorithms and malformed strings never verify", async () => {
  const [algorithm, iterations, salt, hash] = DJANGO_HASH.split("$");
  const flipped = (hash[0] === "A" ? "B" : "A") + hash.slice(1);
  const rejected = [
    // tampered hash, salt and iteration count
    [algorithm, iterations, salt, flipped].join("$"),
    [algorithm, iterations, salt + "x", hash].join("$"),
    [algorithm, "869999", salt, hash].join("$"),
    // truncated hash
    [algorithm, iterations, salt, hash.slice(0, 20)].join("$"),
    [algorithm, iterations, salt, ""].join("$"),
    // other algorithms with the same fields
    ["pbkdf2_sha1", iterations, salt, hash].join("$"),
    ["argon2", iterations, salt, hash].join("$"),
    ["bcrypt_sha256", iterations, salt, hash].join("$"),
    // malformed
    "",
    "!",
    "!deleted",
    DJANGO_PASSWORD,
    [algorithm, iterations, salt].join("$"),
    [algorithm, iterations, salt, hash, "extra"].join("$"),
    [algorithm, "many", salt, hash].join("$"),
    [algorithm, "0", salt, hash].join("$"),
    [algorithm, "-5", salt, hash].join("$"),
    [algorithm, iterations, salt, "not base64 at all!"].join("$"),
  ];
  for (const encoded of rejected) {
    assert.equal(await verifyPassword(DJANGO_PASSWORD, encoded), false, encoded);
  }
});

Deno.test("hashPassword writes Django's format with the given iterations and a fresh salt", async () => {
  const first = await hashPassword("pleasant-walrus-42", TEST_ITERATIONS);
  const second = await hashPassword("pleasant-walrus-42", TEST_ITERATIONS);
  const a = HASH_FORMAT.exec(first);
  const b = HASH_FORMAT.exec(second);
  assert.ok(a, first);
  assert.ok(b, second);
  assert.equal(a[1], String(TEST_ITERATIONS));
  assert.equal(b[1], String(TEST_ITERATIONS));
  assert.equal(a[2].length, 22);
  assert.notEqual(a[2], b[2], "each hash has its own salt");
  assert.notEqual(a[3], b[3], "so the same password hashes differently");
  assert.equal(await verifyPassword("pleasant-walrus-42", first), true);
  assert.equal(await verifyPassword("pleasant-walrus-42", second), true);
  assert.equal(await verifyPassword("pleasant-walrus-43", first), false);
});

Deno.test("passwordProblems reports Django's messages for short, numeric, common and personal passwords", () => {
  const policy = { minLength: 8 };
  assert.deepEqual(passwordProblems("k3#pz", policy).map(problemText), [TOO_SHORT]);
  assert.deepEqual(passwordProblems("29184756", policy).map(problemText), [NUMERIC]);
  assert.deepEqual(passwordProblems("12345678", policy).map(problemText), [TOO_COMMON, NUMERIC]);
  assert.deepEqual(passwordProblems("password123", policy).map(problemText), [TOO_COMMON]);
  assert.deepEqual(passwordProblems("PassWord123", policy).map(problemText), [TOO_COMMON]);
  assert.deepEqual(passwordProblems("qwerty", policy).map(problemText), [TOO_SHORT, TOO_COMMON]);
  assert.deepEqual(passwordProblems("1234", policy).map(problemText), [
    TOO_SHORT,
    TOO_COMMON,
    NUMERIC,
  ]);
  assert.deepEqual(
    passwordProblems("This password is too short", { minLength: 30 }).map(problemText),
    ["This password is too short. It must contain at least 30 characters."],
  );

  const personal = { minLength: 8, personal: ["margaret", "maggie.t@example.com", "Margaret"] };
  assert.deepEqual(passwordProblems("margaret", personal).map(problemText), [TOO_SIMILAR]);
  assert.deepEqual(passwordProblems("Margaret1987", personal).map(problemText), [TOO_SIMILAR]);
  assert.deepEqual(passwordProblems("maggie.t", personal).map(problemText), [TOO_SIMILAR]);
  assert.deepEqual(passwordProblems("maggie.t@example.com", personal).map(problemText), [
    TOO_SIMILAR,
  ]);

  assert.deepEqual(passwordProblems("pleasant-walrus-42", personal).map(problemText), []);
  assert.deepEqual(passwordProblems("correct horse battery staple", policy).map(problemText), []);
});

Deno.test("an account with a weak password is refused with the password's problems", async () => {
  await using t = await openTestCore();
  const err = await refusal(
    t.core.accounts.create({ username: "walter", email: "walter@example.com", password: "1234" }),
    ValidationError,
  );
  assert.deepEqual(fieldErrors(err), { password: [TOO_SHORT, TOO_COMMON, NUMERIC] });

  const similar = await refusal(
    t.core.accounts.create({
      username: "walterwhite",
      email: "heisenberg@example.com",
      password: "walterwhite99",
    }),
    ValidationError,
  );
  assert.deepEqual(fieldErrors(similar), { password: [TOO_SIMILAR] });

  assert.equal(await t.core.accounts.isEmpty(), true, "nothing was stored");
});

Deno.test("a taken username, a taken e-mail in any case and reserved usernames are field errors", async () => {
  await using t = await openTestCore();
  await t.core.accounts.create({
    username: "ada",
    email: "Ada.Lovelace@Example.com",
    password: "pleasant-walrus-42",
  });

  const sameName = await refusal(
    t.core.accounts.create({
      username: "ada",
      email: "someone.else@example.com",
      password: "pleasant-walrus-42",
    }),
    ValidationError,
  );
  assert.deepEqual(fieldErrors(sameName), {
    username: ["A user with that username already exists."],
  });

  const sameEmail = await refusal(
    t.core.accounts.create({
      username: "ada2",
      email: "ada.lovelace@EXAMPLE.COM",
      password: "pleasant-walrus-42",
    }),
    ValidationError,
  );
  assert.deepEqual(fieldErrors(sameEmail), { email: ["A user with this email already exists."] });

  for (const username of ["chat", "notifications", "Chat", "NOTIFICATIONS"]) {
    const reserved = await refusal(
      t.core.accounts.create({
        username,
        email: `${username}@example.org`,
        password: "pleasant-walrus-42",
      }),
      ValidationError,
    );
    assert.deepEqual(fieldErrors(reserved), { username: ["This username is reserved."] }, username);
  }

  const rows = await t.database.db.selectFrom("users").select("username").execute();
  assert.deepEqual(rows.map((r) => r.username), ["ada"]);
});

Deno.test("a user logs in with the username or with the e-mail in any case", async () => {
  await using t = await openTestCore();
  const { user, password } = await makeUser(t.core, {
    username: "grace",
    email: "Grace.Hopper@Navy.example",
  });
  const logins = [
    "grace",
    "Grace.Hopper@Navy.example",
    "grace.hopper@navy.example",
    "GRACE.HOPPER@NAVY.EXAMPLE",
  ];
  for (const login of logins) {
    const found = await t.core.accounts.authenticate(login, password);
    assert.equal(found.id, user.id, login);
    assert.equal(found.username, "grace");
  }
});

Deno.test("a wrong password and an unknown user fail alike with authentication_failed", async () => {
  await using t = await openTestCore();
  const { user, password } = await makeUser(t.core, { username: "linus" });
  const attempts: [string, string][] = [
    ["linus", password + "x"],
    ["linus", ""],
    [user.email!, "wrong-password-1"],
    ["nobody-here", password],
    ["nobody@example.com", password],
  ];
  for (const [login, pw] of attempts) {
    const err = await refusal(t.core.accounts.authenticate(login, pw), AuthenticationError);
    assert.equal(err.code, "authentication_failed");
    assert.equal(detailOf(err), "No active account found with the given credentials");
  }
});

Deno.test("a deactivated user cannot authenticate even with the right password", async () => {
  await using t = await openTestCore();
  const { user, password } = await makeUser(t.core);
  assert.equal((await t.core.accounts.authenticate(user.username, password)).id, user.id);
  await t.core.accounts.deactivate(user.id);
  const err = await refusal(
    t.core.accounts.authenticate(user.username, password),
    AuthenticationError,
  );
  assert.equal(err.code, "authentication_failed");
});

Deno.test("a login with a hash of another iteration count rehashes it to the configured count", async () => {
  await using t = await openTestCore();
  const { user, password } = await makeUser(t.core);
  const old = await hashPassword(password, 600);
  await t.database.db.updateTable("users").set({ password: old }).where("id", "=", user.id)
    .execute();

  await t.core.accounts.authenticate(user.username, password);
  const row = await t.database.db.selectFrom("users").select("password")
    .where("id", "=", user.id).executeTakeFirstOrThrow();
  const parsed = HASH_FORMAT.exec(row.password);
  assert.ok(parsed, row.password);
  assert.equal(parsed[1], String(TEST_ITERATIONS));
  assert.notEqual(row.password, old);
  assert.equal(await verifyPassword(password, row.password), true);
  // and the new hash still logs in
  assert.equal((await t.core.accounts.authenticate(user.username, password)).id, user.id);
});

Deno.test("a failed login does not rehash the stored password", async () => {
  await using t = await openTestCore();
  const { user } = await makeUser(t.core);
  const old = await hashPassword("pleasant-walrus-42", 600);
  await t.database.db.updateTable("users").set({ password: old }).where("id", "=", user.id)
    .execute();
  await assert.rejects(t.core.accounts.authenticate(user.username, "wrong-walrus-42"));
  const row = await t.database.db.selectFrom("users").select("password")
    .where("id", "=", user.id).executeTakeFirstOrThrow();
  assert.equal(row.password, old);
});

Deno.test("a username equal to another user's e-mail does not lock that user out of e-mail login", async () => {
  await using t = await openTestCore();
  // Usernames may contain "@" and ".", so an earlier account can be named like a later e-mail.
  const { user: squatter } = await makeUser(t.core, { username: "kim@example.com" });
  const { user: kim, password } = await makeUser(t.core, {
    username: "kim",
    email: "kim@example.com",
    password: "kims-own-secret-99",
  });
  assert.notEqual(squatter.id, kim.id);
  const found = await t.core.accounts.authenticate("kim@example.com", password);
  assert.equal(found.id, kim.id);
});
