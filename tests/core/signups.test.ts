// E-mail confirmed sign-up (lounge): a real SMTP server receives the link; opening it creates
// one verified account once; bad links, taken addresses, a mail server that is down and
// repeated registrations are refused without leaving anything half-made.
import assert from "node:assert/strict";
import { countPendingSignups } from "@/db/signups.ts";
import {
  AuthenticationError,
  NotFound,
  RateLimited,
  Unavailable,
  ValidationError,
} from "@/lib/errors.ts";
import { createLogger } from "@/lib/log.ts";
import { createMailer, type Mail, type Mailer } from "@/lib/mail.ts";
import { detailOf, retryAfterOf } from "@/routes/wording.ts";
import { statusOf } from "@/routes/errors.ts";
import {
  closedPort,
  engines,
  makeUser,
  openTestCore,
  PASSWORD,
  refusal,
  startSmtpServer,
  type TestCore,
} from "../fixtures/mod.ts";

const silent = createLogger("silent");
const LINK = (token: string) => `http://chat.test/http/register/${token}`;

/** A mailer that keeps what it is given (for tests that are not about SMTP). */
function keptMails(): Mailer & { mails: Mail[] } {
  const mails: Mail[] = [];
  return { mails, send: (mail) => Promise.resolve(void mails.push(mail)) };
}

/** The token in the last mail to `to`. */
function tokenIn(mails: { to: string; text: string }[], to: string): string {
  const mail = mails.findLast((m) => m.to.toLowerCase().includes(to.toLowerCase()));
  assert.ok(mail, `a mail to ${to}`);
  const m = /\/http\/register\/([\w-]+)/.exec(mail.text);
  assert.ok(m, `a link in ${JSON.stringify(mail.text)}`);
  return m[1];
}

const input = (email: string) => ({
  email,
  password: PASSWORD,
  firstName: "Ada",
  lastName: "Lovelace",
});

const pending = (t: TestCore, email?: string) => countPendingSignups(t.database.db, email);

engines.test("a sign-up mails a working link over SMTP; opening it creates a verified account and tells everyone", async () => {
  await using smtp = await startSmtpServer();
  const mailer = createMailer({
    smtpUrl: smtp.url,
    from: "chat <no-reply@chat.test>",
    log: silent,
  });
  await using t = await openTestCore({}, { mailer });

  await t.core.signups.start(input("ada@example.com"), LINK);
  const mail = await smtp.mailTo("ada@example.com");
  assert.equal(mail.subject, "Confirm your registration");
  assert.match(mail.from, /no-reply@chat\.test/);
  assert.equal(mail.user, "tester", "logged in with the URL's credentials");
  assert.match(mail.html, /href="http:\/\/chat\.test\/http\/register\//);
  const token = tokenIn(smtp.mails, "ada@example.com");
  assert.ok(token.length >= 22, "at least 128 bits");

  // Only the hash is stored, and the password only hashed.
  const rows = await t.database.db.selectFrom("pending_signups").selectAll().execute();
  assert.equal(rows.length, 1);
  assert.notEqual(rows[0].token_hash, token);
  assert.ok(!rows[0].token_hash.includes(token));
  assert.match(rows[0].password, /^pbkdf2_sha256\$/);

  // No account yet: logging in fails as for anyone unknown.
  await refusal(t.core.accounts.login("ada@example.com", PASSWORD), AuthenticationError);

  const user = await t.core.signups.confirm(token);
  assert.equal(user.email, "ada@example.com");
  assert.equal(user.username, "ada");
  assert.equal(user.firstName, "Ada");
  assert.equal(user.lastName, "Lovelace");
  assert.equal(user.emailVerified, true);
  assert.equal(user.isBot, false);
  assert.equal(await pending(t), 0);
  const told = t.events.filter((e) => e.topic === "all" && e.event.type === "user.updated");
  assert.deepEqual(told.map((e) => e.event), [{ type: "user.updated", user }]);

  const session = await t.core.accounts.login("ada@example.com", PASSWORD);
  assert.equal(session.user.id, user.id);
});

engines.test("a link works once, also when opened twice at once", async () => {
  const mailer = keptMails();
  await using t = await openTestCore({}, { mailer });
  await t.core.signups.start(input("twice@example.com"), LINK);
  const token = tokenIn(mailer.mails, "twice@example.com");
  const outcomes = await Promise.allSettled([
    t.core.signups.confirm(token),
    t.core.signups.confirm(token),
  ]);
  const created = outcomes.filter((o) => o.status === "fulfilled");
  const refused = outcomes.flatMap((o) => o.status === "rejected" ? [o.reason] : []);
  assert.equal(created.length, 1);
  assert.equal(refused.length, 1);
  assert.ok(refused[0] instanceof NotFound);
  await refusal(t.core.signups.confirm(token), NotFound);
  const users = await t.database.db.selectFrom("users").select("id")
    .where("email", "=", "twice@example.com").execute();
  assert.equal(users.length, 1);
});

engines.test("expired and forged links are refused and create nothing", async () => {
  const mailer = keptMails();
  await using t = await openTestCore({ signupTokenTtl: 3600 }, { mailer });
  await t.core.signups.start(input("late@example.com"), LINK);
  const token = tokenIn(mailer.mails, "late@example.com");

  const forged = await refusal(t.core.signups.confirm(token.slice(0, -2) + "xx"), NotFound);
  assert.equal(forged.what, "signup");
  await refusal(t.core.signups.confirm(""), NotFound);
  await refusal(t.core.signups.confirm("x".repeat(10_000)), NotFound);

  t.clock.now += 3600 * 1000 + 1;
  const expired = await refusal(t.core.signups.confirm(token), NotFound);
  assert.equal(statusOf(expired), 404);
  assert.equal(detailOf(expired), "Invalid or expired registration link.");
  assert.equal(await pending(t), 0, "the expired sign-up is gone");
  await refusal(t.core.accounts.login("late@example.com", PASSWORD), AuthenticationError);
});

engines.test("a newer registration of an address replaces the pending one", async () => {
  const mailer = keptMails();
  await using t = await openTestCore({}, { mailer });
  await t.core.signups.start(input("again@example.com"), LINK);
  const first = tokenIn(mailer.mails, "again@example.com");
  await t.core.signups.start({ ...input("Again@Example.com"), firstName: "Newer" }, LINK);
  const second = tokenIn(mailer.mails, "again@example.com");
  assert.notEqual(first, second);
  assert.equal(await pending(t), 1);
  await refusal(t.core.signups.confirm(first), NotFound);
  const user = await t.core.signups.confirm(second);
  assert.equal(user.firstName, "Newer");
});

engines.test("sign-up checks the fields as account creation does", async () => {
  const mailer = keptMails();
  await using t = await openTestCore({}, { mailer });
  const { user } = await makeUser(t.core, { email: "taken@example.com" });
  const taken = await refusal(t.core.signups.start(input(user.email!), LINK), ValidationError);
  assert.deepEqual(taken.problems, { email: [{ code: "email_taken" }] });

  const weak = await refusal(
    t.core.signups.start({ ...input("weak@example.com"), password: "123" }, LINK),
    ValidationError,
  );
  assert.deepEqual(Object.keys(weak.problems), ["password"]);
  const codes = weak.problems.password.map((p) => p.code);
  assert.ok(codes.includes("password_too_short"));
  assert.ok(codes.includes("password_entirely_numeric"));

  const bad = await refusal(
    t.core.signups.start({ ...input("not-an-address"), firstName: "x".repeat(151) }, LINK),
    ValidationError,
  );
  assert.deepEqual(Object.keys(bad.problems).sort(), ["email", "firstName"]);
  assert.equal(mailer.mails.length, 0);
  assert.equal(await pending(t), 0);
});

engines.test("an address that got an account after signing up is refused on confirm", async () => {
  const mailer = keptMails();
  await using t = await openTestCore({}, { mailer });
  await t.core.signups.start(input("race@example.com"), LINK);
  const token = tokenIn(mailer.mails, "race@example.com");
  await makeUser(t.core, { email: "race@example.com" });
  const err = await refusal(t.core.signups.confirm(token), ValidationError);
  assert.deepEqual(err.problems, { email: [{ code: "email_taken" }] });
});

engines.test("the derived username skips taken and reserved names", async () => {
  const mailer = keptMails();
  await using t = await openTestCore({}, { mailer });
  await makeUser(t.core, { username: "grace" });
  await t.core.signups.start(input("grace@example.com"), LINK);
  const grace = await t.core.signups.confirm(tokenIn(mailer.mails, "grace@example.com"));
  assert.equal(grace.username, "grace2");
  await t.core.signups.start(input("bot@example.com"), LINK);
  const bot = await t.core.signups.confirm(tokenIn(mailer.mails, "bot@example.com"));
  assert.equal(bot.username, "bot2", "bot is the lounge bot's");
});

engines.test("a mail server that is down gives the 503 error and keeps no pending sign-up", async () => {
  const mailer = createMailer({
    smtpUrl: `smtp://u:p@127.0.0.1:${closedPort()}`,
    from: "chat <no-reply@chat.test>",
    log: silent,
  });
  await using t = await openTestCore({ signupEmailInterval: 60 }, { mailer });
  const err = await refusal(t.core.signups.start(input("down@example.com"), LINK), Unavailable);
  assert.equal(err.service, "mail");
  assert.equal(statusOf(err), 503);
  assert.ok(retryAfterOf(err)! > 0);
  assert.match(detailOf(err), /could not be sent/);
  assert.equal(await pending(t), 0);
  // The failed attempt does not count against the address: a retry may mail at once.
  const again = await refusal(t.core.signups.start(input("down@example.com"), LINK), Unavailable);
  assert.equal(again.service, "mail");
});

engines.test("a mail the server refuses gives the 503 error and keeps no pending sign-up", async () => {
  await using smtp = await startSmtpServer({ refuseWith: 550 });
  const mailer = createMailer({ smtpUrl: smtp.url, from: "chat <a@chat.test>", log: silent });
  await using t = await openTestCore({}, { mailer });
  await refusal(t.core.signups.start(input("refused@example.com"), LINK), Unavailable);
  assert.equal(await pending(t), 0);
  assert.equal(smtp.mails.length, 0);
});

engines.test("repeated sign-ups of one address and from one client are throttled", async () => {
  const mailer = keptMails();
  await using t = await openTestCore({
    signupEmailInterval: 60,
    signupRatePerHour: 3600,
    signupBurst: 3,
  }, { mailer });
  await t.core.signups.start(input("often@example.com"), LINK, "10.0.0.1");
  const sameAddress = await refusal(
    t.core.signups.start(input("often@example.com"), LINK, "10.0.0.2"),
    RateLimited,
  );
  assert.ok(sameAddress.retryAfter > 0 && sameAddress.retryAfter <= 60);
  assert.equal(statusOf(sameAddress), 429);
  assert.equal(mailer.mails.length, 1);

  await t.core.signups.start(input("one@example.com"), LINK, "10.0.0.1");
  await t.core.signups.start(input("two@example.com"), LINK, "10.0.0.1");
  const sameClient = await refusal(
    t.core.signups.start(input("three@example.com"), LINK, "10.0.0.1"),
    RateLimited,
  );
  assert.ok(sameClient.retryAfter > 0);

  // Time heals both.
  t.clock.now += 61_000;
  await t.core.signups.start(input("often@example.com"), LINK, "10.0.0.1");
  assert.equal(mailer.mails.filter((m) => m.to === "often@example.com").length, 2);
});

engines.test("without SMTP_URL the mail is one JSON line in the log", async () => {
  const lines: string[] = [];
  const original = console.log;
  console.log = (line: string) => void lines.push(line);
  try {
    const mailer = createMailer({ from: "chat <no-reply@localhost>", log: createLogger("info") });
    await mailer.send({ to: "dev@example.com", subject: "Hi", text: "a link" });
  } finally {
    console.log = original;
  }
  assert.equal(lines.length, 1);
  const entry = JSON.parse(lines[0]);
  assert.deepEqual(entry.mail, {
    from: "chat <no-reply@localhost>",
    to: "dev@example.com",
    subject: "Hi",
    text: "a link",
  });
});
