// Lounge's e-mail confirmed sign-up end to end: the mail goes through a real SMTP server, the
// link is taken from the received mail and opened; used, expired and forged links are refused.
import assert from "node:assert/strict";
import {
  engines,
  lounge,
  loungeOk,
  loungeSocket,
  person,
  startSmtpServer,
  startTestServer,
} from "../fixtures/mod.ts";

const linkIn = (text: string) => {
  const found = /https?:\/\/\S+\/http\/register\/[\w%.-]+/.exec(text);
  assert.ok(found, `no link in: ${text}`);
  return found[0];
};

engines.test("sign-up through the real SMTP server: the link from the mail creates the account, everyone online hears user_update, and the link works once", async () => {
  await using smtp = await startSmtpServer();
  await using srv = await startTestServer({
    SMTP_URL: smtp.url,
    PUBLIC_URL: "http://chat.example",
  });
  await using watcher = await loungeSocket(srv, await person(srv));
  const email = "newcomer@example.com";
  const fields = {
    email,
    password: "a-long-and-odd-secret-7",
    first_name: "Nia",
    last_name: "New",
  };
  const started = await lounge(srv, "POST", "/register", undefined, fields);
  assert.equal(started.status, 202, JSON.stringify(started.body));
  // Not yet an account: logging in fails as any wrong login does.
  const early = await lounge(srv, "POST", "/login", undefined, {
    email,
    password: fields.password,
  });
  assert.equal(early.status, 401);

  const mail = await smtp.mailTo(email);
  const link = linkIn(mail.text);
  assert.ok(link.startsWith("http://chat.example/http/register/"), link);
  const path = new URL(link).pathname.replace(/^\/http/, "");
  const created = await loungeOk(srv, "GET", path, undefined, undefined, 201);
  assert.deepEqual(created, {
    user_id: created.user_id,
    email,
    first_name: "Nia",
    last_name: "New",
  });
  const update = await watcher.frame("user_update", (f) => f.user_id === created.user_id);
  assert.deepEqual(update, {
    type: "user_update",
    user_id: created.user_id,
    first_name: "Nia",
    last_name: "New",
  });
  const login = await loungeOk(srv, "POST", "/login", undefined, {
    email,
    password: fields.password,
  });
  assert.equal(login.user_id, created.user_id);
  assert.equal((await srv.core.accounts.get(created.user_id)).emailVerified, true);

  // Used: a second click is refused, as JSON and as a page for browsers.
  const again = await lounge(srv, "GET", path, undefined);
  assert.equal(again.status, 404);
  assert.deepEqual(again.body, { detail: "Invalid or expired registration link." });
  const page = await fetch(`${srv.url}/http${path}`, { headers: { accept: "text/html" } });
  assert.equal(page.status, 404);
  assert.match(await page.text(), /<h1>/);
  // The address is taken now: a new sign-up is a field error.
  const duplicate = await lounge(srv, "POST", "/register", undefined, fields);
  assert.equal(duplicate.status, 400);
  assert.ok(duplicate.body.email);
});

engines.test("a link opened in a browser answers a small page; the link is built from the request's origin without PUBLIC_URL", async () => {
  await using smtp = await startSmtpServer();
  await using srv = await startTestServer({ SMTP_URL: smtp.url });
  const email = "browser@example.com";
  await loungeOk(srv, "POST", "//register", undefined, {
    email,
    password: "another-odd-secret-8",
    first_name: "Bo",
    last_name: "Browser",
  }, 202);
  const link = linkIn((await smtp.mailTo(email)).text);
  assert.ok(link.startsWith(`${srv.url}/http/register/`), link);
  const page = await fetch(link, { headers: { accept: "text/html,application/xhtml+xml" } });
  assert.equal(page.status, 201);
  assert.match(page.headers.get("content-type") ?? "", /text\/html/);
  assert.match(await page.text(), /ready/);
});

engines.test("expired and forged links are refused; a mail server that refuses gives a 503 and keeps nothing", async () => {
  const clock = { now: Date.now() };
  await using smtp = await startSmtpServer();
  await using srv = await startTestServer({ SMTP_URL: smtp.url, SIGNUP_TOKEN_TTL: "1h" }, {
    clock,
  });
  const email = "late@example.com";
  const fields = { email, password: "yet-another-secret-9", first_name: "Lee", last_name: "Late" };
  await loungeOk(srv, "POST", "/register", undefined, fields, 202);
  const path = new URL(linkIn((await smtp.mailTo(email)).text)).pathname.replace(/^\/http/, "");
  const forged = await lounge(srv, "GET", `${path.slice(0, -4)}AAAA`, undefined);
  assert.equal(forged.status, 404);
  clock.now += 3600 * 1000 + 1;
  const expired = await lounge(srv, "GET", path, undefined);
  assert.equal(expired.status, 404);
  assert.equal(
    (await lounge(srv, "POST", "/login", undefined, { email, password: fields.password })).status,
    401,
  );

  smtp.refuse();
  const failed = await lounge(srv, "POST", "/register", undefined, {
    ...fields,
    email: "x@example.com",
  });
  assert.equal(failed.status, 503);
  assert.ok(failed.headers.get("retry-after"));
  assert.equal(typeof failed.body.detail, "string");
  const bad = await lounge(srv, "POST", "/register", undefined, { email: "nope", password: "1" });
  assert.equal(bad.status, 400);
  assert.ok(bad.body.email && bad.body.first_name);
});
