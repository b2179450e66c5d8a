// The desk web pages (/login/, /, /logout/): over plain HTTP, and end to end in Debian's
// Chromium driven by playwright-core: a student and a teacher in two browser contexts log in
// through the form, the student asks, the teacher sees it appear live, joins, both chat, the
// teacher closes. Screenshots go to tests/output/desk_browser/ (git-ignored).
import assert from "node:assert/strict";
import { type Browser, chromium, type Page } from "playwright-core";
import { SESSION_COOKIE } from "@/realtime/credentials.ts";
import {
  CHROMIUM,
  chromiumInstalled,
  ignoreWithoutChromium,
  makeUser,
  PASSWORD,
  startTestServer,
  type TestServer,
} from "../fixtures/mod.ts";

const OUTPUT = new URL("../output/desk_browser/", import.meta.url);
/** Generous: a slow CI machine must not fail on a wait. Nothing asserts how long things take. */
const WAIT = 10_000;
const XSS = "<img src=x onerror=alert(1)>";

async function makePeople(srv: TestServer) {
  const { user: student } = await makeUser(srv.core, {
    username: "sara",
    email: "sara@example.com",
    firstName: "Sara",
    lastName: "Student",
    role: "member",
  });
  const { user: teacher } = await makeUser(srv.core, {
    username: "tom",
    email: "tom@example.com",
    firstName: "Tom",
    lastName: "Teacher",
    role: "teacher",
  });
  return { student, teacher };
}

/** POSTs the login form the way a browser does; returns the response (redirects not followed). */
function postLogin(srv: TestServer, username: string, password: string): Promise<Response> {
  return fetch(`${srv.url}/login/`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ username, password }),
    redirect: "manual",
  });
}

function sessionFrom(response: Response): string {
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  assert.ok(cookie, "the login sets the session cookie");
  return cookie.slice(SESSION_COOKIE.length + 1).split(";")[0];
}

Deno.test("desk pages over HTTP: redirects, login form, cookie, headers, static files, logout", async () => {
  await using srv = await startTestServer();
  await makePeople(srv);

  // No session: / sends the browser to the login form.
  const anonymous = await fetch(`${srv.url}/`, { redirect: "manual" });
  assert.equal(anonymous.status, 303);
  assert.equal(anonymous.headers.get("location"), "/login/");
  await anonymous.body?.cancel();

  // A mangled cookie is no session either.
  const mangled = await fetch(`${srv.url}/`, {
    headers: { cookie: `${SESSION_COOKIE}=%E0%A4%A` },
    redirect: "manual",
  });
  assert.equal(mangled.status, 303);
  assert.equal(mangled.headers.get("location"), "/login/");
  await mangled.body?.cancel();

  const form = await fetch(`${srv.url}/login/`);
  assert.equal(form.status, 200);
  assert.match(form.headers.get("content-type") ?? "", /text\/html/);
  assert.match(form.headers.get("content-security-policy") ?? "", /script-src 'self'/);
  assert.equal(form.headers.get("x-content-type-options"), "nosniff");
  assert.equal(form.headers.get("referrer-policy"), "same-origin");
  const formHtml = await form.text();
  assert.match(formHtml, /<form[^>]+method="post"[^>]+action="\/login\/"/);
  assert.match(formHtml, /name="username"/);
  assert.match(formHtml, /name="password"/);

  // Wrong password: 401, the message on the form, the (escaped) username kept.
  const wrong = await postLogin(srv, 'sara"><script>x</script>', "nope-nope-nope");
  assert.equal(wrong.status, 401);
  const wrongHtml = await wrong.text();
  assert.match(wrongHtml, /Wrong username or password\./);
  assert.ok(wrongHtml.includes('value="sara&quot;&gt;&lt;script&gt;x&lt;/script&gt;"'));
  assert.ok(!wrongHtml.includes("<script>x</script>"));

  // Blank fields: 400 and the form again.
  const blank = await postLogin(srv, "", "");
  assert.equal(blank.status, 400);
  assert.match(await blank.text(), /Enter your username\./);

  // Success: an HttpOnly, SameSite=Lax cookie for the access token's lifetime, then /.
  const ok = await postLogin(srv, "sara", PASSWORD);
  assert.equal(ok.status, 303);
  assert.equal(ok.headers.get("location"), "/");
  const setCookie = ok.headers.getSetCookie().join("\n");
  assert.match(setCookie, /HttpOnly/);
  assert.match(setCookie, /SameSite=Lax/);
  assert.match(setCookie, /Path=\//);
  assert.match(setCookie, /Max-Age=86400/);
  assert.doesNotMatch(setCookie, /Secure/);
  const token = sessionFrom(ok);
  await ok.body?.cancel();
  const cookie = `${SESSION_COOKIE}=${token}`;

  // The page: the user as script-safe JSON, the served Socket.IO bundle, the page headers.
  const page = await fetch(`${srv.url}/`, { headers: { cookie } });
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'self'/);
  const html = await page.text();
  const me = /<script type="application\/json" id="me">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(me);
  assert.deepEqual(
    { ...JSON.parse(me[1]), id: 0 },
    { id: 0, username: "sara", first_name: "Sara", last_name: "Student", role: "student" },
  );
  assert.ok(html.includes('src="/socket.io/socket.io.min.js"'));
  const loggedInForm = await fetch(`${srv.url}/login/`, {
    headers: { cookie },
    redirect: "manual",
  });
  assert.equal(loggedInForm.status, 303);
  assert.equal(loggedInForm.headers.get("location"), "/");
  await loggedInForm.body?.cancel();

  // Static files: content types, ETags and 304s.
  for (
    const [name, type] of [
      ["desk.js", /javascript/],
      ["desk.css", /text\/css/],
      ["avatar.svg", /image\/svg\+xml/],
    ] as const
  ) {
    const res = await fetch(`${srv.url}/static/${name}`);
    assert.equal(res.status, 200, name);
    assert.match(res.headers.get("content-type") ?? "", type);
    const etag = res.headers.get("etag");
    assert.ok(etag, name);
    await res.body?.cancel();
    const again = await fetch(`${srv.url}/static/${name}`, { headers: { "if-none-match": etag } });
    assert.equal(again.status, 304, name);
    await again.body?.cancel();
  }
  const missing = await fetch(`${srv.url}/static/login.html`);
  assert.equal(missing.status, 404);
  await missing.body?.cancel();

  // Logout revokes the session and clears the cookie.
  const api = await fetch(`${srv.url}/api/room/`, { headers: { cookie } });
  assert.equal(api.status, 200);
  await api.body?.cancel();
  const out = await fetch(`${srv.url}/logout/`, { headers: { cookie }, redirect: "manual" });
  assert.equal(out.status, 303);
  assert.equal(out.headers.get("location"), "/login/");
  assert.match(out.headers.getSetCookie().join("\n"), new RegExp(`${SESSION_COOKIE}=;.*Max-Age=0`));
  await out.body?.cancel();
  const after = await fetch(`${srv.url}/api/room/`, { headers: { cookie } });
  assert.equal(after.status, 401);
  await after.body?.cancel();
  const pageAfter = await fetch(`${srv.url}/`, { headers: { cookie }, redirect: "manual" });
  assert.equal(pageAfter.status, 303);
  assert.equal(pageAfter.headers.get("location"), "/login/");
  await pageAfter.body?.cancel();
});

/** Everything a page did that a test should know about: dialogs, script errors, console errors. */
function watch(page: Page, name: string, log: string[]) {
  page.on("dialog", (dialog) => {
    log.push(`${name}: dialog ${dialog.type()} ${dialog.message()}`);
    dialog.dismiss().catch(() => {});
  });
  page.on("pageerror", (error) => log.push(`${name}: page error ${error.message}`));
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    // The wrong-password attempt answers 401 on purpose; Chromium reports that as an error.
    const expected = /status of 401/.test(message.text()) &&
      message.location().url.endsWith("/login/");
    if (!expected) log.push(`${name}: console error ${message.text()}`);
  });
}

async function logIn(page: Page, url: string, username: string, password: string) {
  await page.goto(`${url}/login/`);
  await page.fill("#username", username);
  await page.fill("#password", password);
  await page.click("#login-submit");
}

async function send(page: Page, text: string) {
  await page.fill("#message-input", text);
  await page.click("#send-button");
}

/** The open room's message with exactly this text, from me or from the other side. */
function messageWith(page: Page, text: string, mine: boolean) {
  return page.locator(`#messages [data-testid="message"][data-mine="${mine}"]`)
    .filter({ has: page.locator(".msg-text", { hasText: text }) });
}

/** Waits until the element has the attribute value (visible or not). */
async function attribute(page: Page, selector: string, name: string, value: string) {
  await page.locator(`${selector}[${name}="${value}"]`).waitFor({
    state: "attached",
    timeout: WAIT,
  });
}

Deno.test({
  name: "desk pages in Chromium: log in, ask, join live, chat, seen, presence, close, log out",
  ignore: ignoreWithoutChromium("desk_browser"),
  async fn() {
    if (!chromiumInstalled) {
      throw new Error(
        `${CHROMIUM} is missing: the browser test must run in CI (.ci/run installs chromium).`,
      );
    }
    await Deno.mkdir(OUTPUT, { recursive: true });
    await using srv = await startTestServer();
    const { teacher } = await makePeople(srv);
    const problems: string[] = [];
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
      });
      const desktop = { width: 1280, height: 800 };
      const studentContext = await browser.newContext({ viewport: desktop });
      const teacherContext = await browser.newContext({ viewport: desktop });
      const sp = await studentContext.newPage();
      const tp = await teacherContext.newPage();
      watch(sp, "student", problems);
      watch(tp, "teacher", problems);

      // Without a session the page sends the browser to the login form.
      await sp.goto(`${srv.url}/`);
      assert.equal(new URL(sp.url()).pathname, "/login/");

      // A wrong password: the form again (401), with the error and the username kept.
      const refused = sp.waitForResponse((r) => r.request().method() === "POST");
      await logIn(sp, srv.url, "sara", "not-the-password");
      assert.equal((await refused).status(), 401);
      await sp.locator("#login-error").waitFor({ state: "visible", timeout: WAIT });
      assert.equal(await sp.textContent("#login-error"), "Wrong username or password.");
      assert.equal(await sp.inputValue("#username"), "sara");
      await sp.screenshot({ path: new URL("login-error.png", OUTPUT).pathname });

      // Both log in through the form.
      await logIn(sp, srv.url, "sara", PASSWORD);
      await sp.waitForURL(`${srv.url}/`, { timeout: WAIT });
      await logIn(tp, srv.url, "tom", PASSWORD);
      await tp.waitForURL(`${srv.url}/`, { timeout: WAIT });
      for (const page of [sp, tp]) {
        await attribute(page, "body", "data-ready", "true");
        await attribute(page, "#connection", "data-state", "online");
      }
      assert.equal(await sp.textContent("#me-role"), "student");
      assert.equal(await tp.textContent("#me-role"), "teacher");
      assert.ok(await tp.locator("#ask-form").isHidden());

      // From here on the teacher's page must never reload: a reload would lose this marker.
      await tp.evaluate("globalThis.__sameDocument = true");

      // The student asks (markup in the question stays text).
      const question = "How do I <b>factor</b> x^2 - 1?";
      await sp.fill("#ask-text", question);
      await sp.click("#ask-button");
      await sp.locator('#room-list [data-testid="room-item"]').first().waitFor({ timeout: WAIT });
      await attribute(sp, "#room-status", "data-status", "active");
      assert.equal(await sp.textContent("#room-question-text"), question);
      assert.ok(await sp.locator("#waiting-notice").isVisible());

      // The teacher sees it appear, without reloading.
      const waiting = tp.locator('#waiting-list [data-testid="room-item"]');
      await waiting.first().waitFor({ timeout: WAIT });
      assert.equal(await waiting.count(), 1);
      assert.equal(await waiting.first().locator(".room-title").textContent(), question);
      assert.equal(await tp.locator("#waiting-list b").count(), 0);
      const roomId = Number(await waiting.first().getAttribute("data-room-id"));
      assert.ok(roomId > 0);

      // The teacher opens it and joins.
      await waiting.first().click();
      await tp.locator("#join-bar").waitFor({ state: "visible", timeout: WAIT });
      assert.ok(await tp.locator("#message-form").isHidden());
      await tp.click("#join-button");
      await attribute(tp, "#room-status", "data-status", "engaged");
      await tp.locator("#close-button").waitFor({ state: "visible", timeout: WAIT });
      await tp.locator('#room-list [data-testid="room-item"]').first().waitFor({ timeout: WAIT });
      assert.equal(await waiting.count(), 0);

      // The student sees the teacher arrive, and both see the other online.
      await attribute(sp, "#room-status", "data-status", "engaged");
      await sp.locator("#peer-name", { hasText: "Tom Teacher" }).waitFor({ timeout: WAIT });
      await attribute(sp, "#peer-presence", "data-state", "online");
      await attribute(tp, "#peer-presence", "data-state", "online");
      assert.ok(await sp.locator("#waiting-notice").isHidden());

      // Messages both ways; markup arrives as text and runs nothing.
      await send(sp, "Hello! Is anyone there?");
      await messageWith(tp, "Hello! Is anyone there?", false).waitFor({ timeout: WAIT });
      await send(sp, XSS);
      const xssAtTeacher = messageWith(tp, XSS, false);
      await xssAtTeacher.waitFor({ timeout: WAIT });
      assert.equal(await xssAtTeacher.locator(".msg-text").textContent(), XSS);
      await send(tp, "Hi Sara, yes. Let's look at it together.");
      await messageWith(sp, "Hi Sara, yes. Let's look at it together.", false)
        .waitFor({ timeout: WAIT });
      const xssAtStudent = messageWith(sp, XSS, true);
      await xssAtStudent.waitFor({ timeout: WAIT });
      assert.equal(await xssAtStudent.locator(".msg-text").textContent(), XSS);
      for (const page of [sp, tp]) {
        assert.equal(await page.locator("#messages img").count(), 0);
      }

      // The teacher has the room open, so the student's messages show as seen.
      const seenMarker = messageWith(sp, XSS, true).locator('[data-testid="seen-marker"]');
      await seenMarker.and(sp.locator('[data-seen="true"]')).waitFor({ timeout: WAIT });
      assert.equal(await seenMarker.textContent(), "Seen");

      await sp.screenshot({ path: new URL("student.png", OUTPUT).pathname });
      await tp.screenshot({ path: new URL("teacher.png", OUTPUT).pathname });

      // Presence from the server's events: the student's only tab closes (offline), then a new
      // one opens on the room (online); its history comes back over REST, seen markers too.
      await sp.close();
      await attribute(tp, "#peer-presence", "data-state", "offline");
      const phone = await studentContext.newPage();
      watch(phone, "student (phone)", problems);
      await phone.setViewportSize({ width: 375, height: 740 });
      await phone.goto(`${srv.url}/#room-${roomId}`);
      await attribute(phone, "body", "data-ready", "true");
      await attribute(tp, "#peer-presence", "data-state", "online");
      await messageWith(phone, "Hi Sara, yes. Let's look at it together.", false)
        .waitFor({ timeout: WAIT });
      await messageWith(phone, XSS, true).locator('[data-seen="true"]').waitFor({ timeout: WAIT });
      assert.ok(await phone.locator("#sidebar").isHidden());
      assert.ok(await phone.locator("#message-input").isVisible());
      await phone.screenshot({ path: new URL("student-375.png", OUTPUT).pathname });
      await phone.click("#back-button");
      await phone.locator("#sidebar").waitFor({ state: "visible", timeout: WAIT });
      await phone.screenshot({ path: new URL("student-375-list.png", OUTPUT).pathname });
      await phone.locator(`#room-list [data-room-id="${roomId}"]`).click();
      await phone.locator("#message-input").waitFor({ state: "visible", timeout: WAIT });

      // The teacher closes the room; the student sees it closed and cannot send.
      await tp.click("#close-button");
      await attribute(tp, "#room-status", "data-status", "closed");
      await attribute(phone, "#room-status", "data-status", "closed");
      await phone.locator("#closed-notice").waitFor({ state: "visible", timeout: WAIT });
      assert.equal((await phone.textContent("#closed-notice"))?.trim(), "This room is closed.");
      assert.ok(await phone.locator("#message-input").isDisabled());
      assert.ok(await phone.locator("#send-button").isDisabled());
      assert.ok(await tp.locator("#message-input").isDisabled());
      assert.ok(await tp.locator("#close-button").isHidden());
      await phone.screenshot({ path: new URL("student-375-closed.png", OUTPUT).pathname });
      await tp.screenshot({ path: new URL("teacher-closed.png", OUTPUT).pathname });
      assert.equal(
        await tp.evaluate("globalThis.__sameDocument"),
        true,
        "the teacher never reloaded",
      );

      // Logging out revokes the session: the old cookie no longer opens the API or the page.
      const session = (await studentContext.cookies()).find((c) => c.name === SESSION_COOKIE);
      assert.ok(session?.httpOnly);
      assert.equal(session.sameSite, "Lax");
      await phone.click("#logout-link");
      await phone.waitForURL(`${srv.url}/login/`, { timeout: WAIT });
      assert.equal(
        (await studentContext.cookies()).find((c) => c.name === SESSION_COOKIE),
        undefined,
      );
      const api = await fetch(`${srv.url}/api/room/`, {
        headers: { cookie: `${SESSION_COOKIE}=${session.value}` },
      });
      assert.equal(api.status, 401);
      await api.body?.cancel();
      await phone.goto(`${srv.url}/`);
      assert.equal(new URL(phone.url()).pathname, "/login/");

      // The teacher is still signed in; the student really was a student and the teacher a teacher.
      assert.equal(teacher.role, "teacher");
      assert.deepEqual(problems, []);
    } finally {
      await browser?.close();
    }
  },
});
