// The /docs page in Debian's Chromium (playwright-core): Swagger UI, served by us from the
// swagger-ui-dist package, loads under the page's CSP with no inline script, asks no other
// host for anything, and lists every face's operations. A screenshot goes to
// tests/output/docs_browser/ (git-ignored) with the other browser outputs.
import assert from "node:assert/strict";
import { type Browser, chromium } from "playwright-core";
import {
  api,
  CHROMIUM,
  chromiumInstalled,
  ignoreWithoutChromium,
  startTestServer,
} from "../fixtures/mod.ts";

const OUTPUT = new URL("../output/docs_browser/", import.meta.url);
/** Generous: a slow CI machine must not fail on a wait. Nothing asserts how long things take. */
const WAIT = 20_000;

Deno.test("the docs page over HTTP: strict CSP, no inline script, assets from us", async () => {
  await using srv = await startTestServer();
  const page = await fetch(`${srv.url}/docs`);
  assert.equal(page.status, 200);
  const csp = page.headers.get("content-security-policy") ?? "";
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  const html = await page.text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, "no inline script");
  assert.doesNotMatch(html, /https?:\/\//, "nothing from another host");
  for (const src of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
    const asset = await fetch(new URL(src[1], `${srv.url}/docs`));
    assert.equal(asset.status, 200, src[1]);
    await asset.body?.cancel();
  }
  assert.equal((await api(srv, "GET", "/docs/assets/index.html")).status, 404);
});

Deno.test({
  name: "the docs page in Chromium: loads under its CSP and lists every face's operations",
  ignore: ignoreWithoutChromium("docs_browser"),
  async fn() {
    if (!chromiumInstalled) {
      throw new Error(
        `${CHROMIUM} is missing: the browser test must run in CI (.ci/run installs chromium).`,
      );
    }
    await Deno.mkdir(OUTPUT, { recursive: true });
    await using srv = await startTestServer();
    const doc = (await api(srv, "GET", "/openapi.json")).body;
    let operations = 0;
    for (const item of Object.values(doc.paths as Record<string, object>)) {
      operations += Object.keys(item).length;
    }
    const problems: string[] = [];
    const elsewhere: string[] = [];
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
      });
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      page.on("pageerror", (error) => problems.push(`page error ${error.message}`));
      // A CSP violation is reported as a console error.
      page.on("console", (m) => {
        if (m.type() === "error") problems.push(`console ${m.text()} (${m.location().url})`);
      });
      page.on("request", (r) => {
        if (!r.url().startsWith(srv.url) && !r.url().startsWith("data:")) elsewhere.push(r.url());
      });

      const response = await page.goto(`${srv.url}/docs`);
      assert.ok(response?.headers()["content-security-policy"]);
      // Every face is a section, and every operation is listed (tags open: docExpansion list).
      await page.waitForSelector(".opblock-tag-section", { timeout: WAIT });
      const tags = await page.locator(".opblock-tag").allInnerTexts();
      for (const face of ["desk", "meet", "inbox", "live", "lounge", "ops"]) {
        assert.ok(tags.some((t) => t.trim().startsWith(face)), `the ${face} section is shown`);
      }
      await page.waitForFunction(
        `document.querySelectorAll(".opblock").length === ${operations}`,
        undefined,
        { timeout: WAIT },
      );
      const paths = await page.locator(".opblock-summary-path").allInnerTexts();
      for (const path of ["/api/token/", "/auth/login/", "/api/conversations", "/room/list"]) {
        assert.ok(paths.some((p) => p.replace(/\u200b/g, "") === path), `${path} is listed`);
      }
      assert.ok(paths.some((p) => p.replace(/\u200b/g, "") === "/http/chat_groups"));
      await page.screenshot({ path: new URL("docs.png", OUTPUT).pathname, fullPage: false });

      // One operation opens with its request body and DRF error responses.
      await page.locator("#operations-desk-postApiToken .opblock-summary").click();
      await page.waitForSelector("#operations-desk-postApiToken .responses-table", {
        timeout: WAIT,
      });
      const opened = await page.locator("#operations-desk-postApiToken").innerText();
      assert.match(opened, /username/);
      assert.match(opened, /400/);
      await page.screenshot({ path: new URL("docs-operation.png", OUTPUT).pathname });
    } finally {
      await browser?.close();
    }
    assert.deepEqual(problems, [], "no script error or CSP violation");
    assert.deepEqual(elsewhere, [], "no request to another host");
  },
});
