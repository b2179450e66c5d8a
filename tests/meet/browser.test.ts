// The meet face end to end in Debian's Chromium driven by playwright-core: two people, each in
// a browser context of their own, open tests/meet/page/ (served by this test from another
// origin) on the same video room. The pages take fake camera and microphone streams, and set
// up a real RTCPeerConnection (no STUN or TURN: host candidates on loopback) whose offer,
// answer and ICE candidates travel only through the service's /ws/chat/{id}/ socket; then the
// caller hangs up through it too. The handshake is described in tests/meet/page/meet.js.
// A second test does the same with tests/meet/page/original.js, which speaks the original Rooms
// front-end's frames (top-level sdp, its own sender_id) and opens its two sockets per room.
// Screenshots go to tests/output/meet_browser/ (git-ignored).
import assert from "node:assert/strict";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import {
  CHROMIUM,
  chromiumInstalled,
  delay,
  ignoreWithoutChromium,
  person,
  startTestServer,
  type TestServer,
} from "../fixtures/mod.ts";

const OUTPUT = new URL("../output/meet_browser/", import.meta.url);
const PAGE_DIR = new URL("./page/", import.meta.url);
/** Generous: a slow CI machine must not fail on a wait. Nothing asserts how long things take. */
const WAIT = 20_000;
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  // getUserMedia granted without a prompt, fed by Chromium's test pattern and beep.
  "--use-fake-ui-for-media-stream",
  "--use-fake-device-for-media-stream",
  // Without it Chromium gathers no 127.0.0.1 / ::1 candidates, and the page sends no others.
  "--allow-loopback-in-peer-connection",
];

/** What tests/meet/page/meet.js keeps on `window.state`. */
interface PageState {
  role: "caller" | "callee";
  me: number | null;
  peer: number | null;
  socket: string;
  socketClose: { code: number; reason: string } | null;
  connectionState: string;
  iceConnectionState: string;
  iceGatheringState: string;
  localTracks: { kind: string; label: string }[];
  remoteTracks: { kind: string; id: string }[];
  sent: { hello: number; offer: number; answer: number; candidates: number; hangup: number };
  received: { chat: number; offer: number; answer: number; candidates: number; hangup: number };
  skippedCandidates: string[];
  hungUpBy: number | null;
  errors: string[];
  log: string[];
}

/** What the page's `mediaStats()` reports from RTCPeerConnection.getStats(). */
interface MediaStats {
  framesDecoded: number;
  bytesReceived: number;
  videoWidth: number;
  videoHeight: number;
  pair: {
    state: string;
    local: { address: string; port: number; type: string; protocol: string } | undefined;
    remote: { address: string; port: number; type: string; protocol: string } | undefined;
  } | null;
}

/** Serves tests/meet/page/ (its two pages and their scripts only) on a port of its own. */
function servePage(): Deno.HttpServer<Deno.NetAddr> {
  const files: Record<string, [string, string]> = {
    "/": ["index.html", "text/html; charset=utf-8"],
    "/meet.js": ["meet.js", "text/javascript; charset=utf-8"],
    "/original.html": ["original.html", "text/html; charset=utf-8"],
    "/original.js": ["original.js", "text/javascript; charset=utf-8"],
  };
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const file = files[new URL(request.url).pathname];
    if (!file) return new Response("Not found", { status: 404 });
    const body = await Deno.readFile(new URL(file[0], PAGE_DIR));
    return new Response(body, {
      headers: { "content-type": file[1], "cache-control": "no-store" },
    });
  });
}

/** Script errors and console errors of a page, for the test to assert there are none. */
function watch(page: Page, name: string, problems: string[]) {
  page.on("pageerror", (error) => problems.push(`${name}: page error ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`${name}: console error ${message.text()}`);
  });
}

function stateOf(page: Page): Promise<PageState> {
  return page.evaluate("globalThis.state") as Promise<PageState>;
}

function statsOf(page: Page): Promise<MediaStats> {
  return page.evaluate("globalThis.mediaStats()") as Promise<MediaStats>;
}

/** Both pages' state, for a failure message: what each side saw and did. */
async function describe(pages: Record<string, Page>): Promise<string> {
  const parts: string[] = [];
  for (const [name, page] of Object.entries(pages)) {
    try {
      const { log, ...rest } = await stateOf(page);
      parts.push(`--- ${name}: ${JSON.stringify(rest)}\n${log.join("\n")}`);
    } catch (err) {
      parts.push(`--- ${name}: (no state: ${err})`);
    }
  }
  return parts.join("\n");
}

/** Waits until `expression` is true on the page; a timeout reports both pages' state. */
async function until(
  page: Page,
  expression: string,
  what: string,
  pages: Record<string, Page>,
): Promise<void> {
  try {
    await page.waitForFunction(expression, undefined, { timeout: WAIT, polling: 100 });
  } catch (err) {
    throw new Error(
      `${what}: ${err instanceof Error ? err.message : err}\n${await describe(pages)}`,
    );
  }
}

/** Polls the page's getStats() until `check` holds; a timeout reports the last stats. */
async function untilStats(
  page: Page,
  check: (stats: MediaStats) => boolean,
  what: string,
): Promise<MediaStats> {
  const deadline = Date.now() + WAIT;
  let stats = await statsOf(page);
  while (!check(stats)) {
    if (Date.now() > deadline) assert.fail(`${what}: ${JSON.stringify(stats)}`);
    await delay(200);
    stats = await statsOf(page);
  }
  return stats;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1)$/;

Deno.test({
  name: "meet in Chromium: two pages connect a real RTCPeerConnection signalled through " +
    "/ws/chat/{id}/ alone, see each other's video, and hang up",
  ignore: ignoreWithoutChromium("meet_browser"),
  async fn() {
    if (!chromiumInstalled) {
      throw new Error(
        `${CHROMIUM} is missing: the browser test must run in CI (.ci/run installs chromium).`,
      );
    }
    await Deno.mkdir(OUTPUT, { recursive: true });
    const problems: string[] = [];
    let srv: TestServer | undefined;
    let pageServer: Deno.HttpServer<Deno.NetAddr> | undefined;
    let browser: Browser | undefined;
    const contexts: BrowserContext[] = [];
    try {
      srv = await startTestServer();
      const alice = await person(srv, {
        username: "alice",
        firstName: "Alice",
        lastName: "Caller",
      });
      const bob = await person(srv, { username: "bob", firstName: "Bob", lastName: "Callee" });
      const room = await srv.core.rooms.createGroup({
        creatorId: alice.user.id,
        name: "Stand-up",
        roomType: "video",
      });
      pageServer = servePage();
      const pageOrigin = `http://127.0.0.1:${pageServer.addr.port}`;
      assert.notEqual(pageOrigin, srv.url, "the page is served from another origin");

      browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
      const open = async (role: "caller" | "callee", access: string): Promise<Page> => {
        const context = await browser!.newContext({ viewport: { width: 720, height: 640 } });
        contexts.push(context);
        const page = await context.newPage();
        watch(page, role, problems);
        const query = new URLSearchParams({
          server: srv!.url,
          token: access,
          room: String(room.id),
          role,
        });
        await page.goto(`${pageOrigin}/?${query}`);
        return page;
      };
      // Both at once: the handshake must not depend on who joins the room first.
      const [caller, callee] = await Promise.all([
        open("caller", alice.access),
        open("callee", bob.access),
      ]);
      const pages = { caller, callee };

      // Connected both ways, each with the other's video track.
      const connected = `globalThis.state?.connectionState === "connected" && ` +
        `globalThis.state.remoteTracks.some((track) => track.kind === "video")`;
      await until(caller, connected, "the caller connects with a remote video track", pages);
      await until(callee, connected, "the callee connects with a remote video track", pages);

      // Frames really flow and are decoded on both sides, over a host candidate of this
      // machine (no STUN or TURN was configured, so there is no other kind to pick).
      for (const [name, page] of Object.entries(pages)) {
        const stats = await untilStats(
          page,
          (s) => s.framesDecoded > 0 && s.videoWidth > 0,
          `${name} decodes remote video`,
        );
        assert.equal(stats.pair?.state, "succeeded", `${name}: ${JSON.stringify(stats)}`);
        assert.equal(stats.pair?.local?.type, "host", `${name}: ${JSON.stringify(stats)}`);
        assert.ok(
          ["host", "prflx"].includes(stats.pair?.remote?.type ?? ""),
          `${name}: ${JSON.stringify(stats)}`,
        );
      }

      // Each side gathered and sent its loopback candidates through the server, and the other
      // side received every one of them.
      const gathered = `globalThis.state.iceGatheringState === "complete"`;
      await until(caller, gathered, "the caller finishes gathering", pages);
      await until(callee, gathered, "the callee finishes gathering", pages);
      const sentByCaller = (await stateOf(caller)).sent.candidates;
      const sentByCallee = (await stateOf(callee)).sent.candidates;
      assert.ok(sentByCaller > 0 && sentByCallee > 0, await describe(pages));
      await until(
        callee,
        `globalThis.state.received.candidates === ${sentByCaller}`,
        "the callee receives every candidate the caller sent",
        pages,
      );
      await until(
        caller,
        `globalThis.state.received.candidates === ${sentByCallee}`,
        "the caller receives every candidate the callee sent",
        pages,
      );

      const a = await stateOf(caller);
      const b = await stateOf(callee);
      const context = await describe(pages);
      // Who is who: each page learnt its own id from its hello's echo and the other's from
      // the hello (caller) or the offer's sender_id (callee).
      assert.equal(a.me, alice.user.id, context);
      assert.equal(a.peer, bob.user.id, context);
      assert.equal(b.me, bob.user.id, context);
      assert.equal(b.peer, alice.user.id, context);
      // One offer, one answer; no signal came back to its sender or from a stranger.
      assert.deepEqual([a.sent.offer, b.received.offer], [1, 1], context);
      assert.deepEqual([b.sent.answer, a.received.answer], [1, 1], context);
      assert.deepEqual([a.received.offer, b.received.answer], [0, 0], context);
      assert.deepEqual(a.errors, [], context);
      assert.deepEqual(b.errors, [], context);
      for (const side of [a, b]) {
        assert.deepEqual(side.localTracks.map((t) => t.kind).sort(), ["audio", "video"]);
        assert.deepEqual(side.remoteTracks.map((t) => t.kind).sort(), ["audio", "video"]);
        assert.equal(side.socket, "open", context);
        // The page sends loopback candidates only; anything else it gathered stayed home.
        for (const line of side.skippedCandidates) {
          assert.ok(!LOOPBACK.test(line.split(" ")[4]), line);
        }
      }

      await caller.screenshot({ path: new URL("caller.png", OUTPUT).pathname });
      await callee.screenshot({ path: new URL("callee.png", OUTPUT).pathname });

      // Hanging up travels through the server as well, sent to the whole room (no target):
      // it reaches the callee and does not come back to the caller; both sockets stay open.
      await caller.evaluate("globalThis.hangUp()");
      await until(
        callee,
        `globalThis.state.hungUpBy === ${alice.user.id} && ` +
          `globalThis.state.connectionState === "closed"`,
        "the callee hears the caller hang up",
        pages,
      );
      const afterA = await stateOf(caller);
      const afterB = await stateOf(callee);
      assert.equal(afterA.connectionState, "closed");
      assert.equal(afterA.received.hangup, 0, "the hangup did not come back to the caller");
      assert.equal(afterB.received.hangup, 1);
      assert.deepEqual([afterA.socket, afterB.socket], ["open", "open"]);
      assert.deepEqual([...afterA.errors, ...afterB.errors], [], await describe(pages));
      await callee.screenshot({ path: new URL("callee-hung-up.png", OUTPUT).pathname });

      assert.deepEqual(problems, []);
    } finally {
      for (const context of contexts) await context.close().catch(() => {});
      await browser?.close().catch(() => {});
      await pageServer?.shutdown();
      await srv?.[Symbol.asyncDispose]();
    }
  },
});

/** What tests/meet/page/original.js keeps on `window.state`. */
interface OriginalState {
  me: number | null;
  sockets: { chat: string; video: string };
  chat: { id: number; from: number; content: string }[];
  sent: Record<string, unknown>[];
  received: { type: string; keys: string[]; sender_id: unknown }[];
  ignored: { chatOnVideo: number; signalsOnChat: number; own: number };
  candidates: { added: number; dropped: number; failed: number };
  incoming: boolean;
  connectionState: string;
  remoteTracks: string[];
  errors: string[];
}

function originalStateOf(page: Page): Promise<OriginalState> {
  return page.evaluate("globalThis.state") as Promise<OriginalState>;
}

Deno.test({
  name: "meet in Chromium: the original Rooms front-end's frames (top-level sdp, its own " +
    "sender_id, its candidate frames) connect a real RTCPeerConnection over /ws/chat/{id}/",
  ignore: ignoreWithoutChromium("meet_browser"),
  async fn() {
    if (!chromiumInstalled) {
      throw new Error(
        `${CHROMIUM} is missing: the browser test must run in CI (.ci/run installs chromium).`,
      );
    }
    await Deno.mkdir(OUTPUT, { recursive: true });
    const problems: string[] = [];
    let srv: TestServer | undefined;
    let pageServer: Deno.HttpServer<Deno.NetAddr> | undefined;
    let browser: Browser | undefined;
    const contexts: BrowserContext[] = [];
    try {
      srv = await startTestServer();
      const alice = await person(srv, { firstName: "Alice", lastName: "Original" });
      const bob = await person(srv, { firstName: "Bob", lastName: "Original" });
      const room = await srv.core.rooms.createGroup({
        creatorId: alice.user.id,
        name: "Original",
        roomType: "video",
      });
      pageServer = servePage();
      const pageOrigin = `http://127.0.0.1:${pageServer.addr.port}`;

      browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
      const open = async (name: string, access: string): Promise<Page> => {
        const context = await browser!.newContext({ viewport: { width: 720, height: 720 } });
        contexts.push(context);
        const page = await context.newPage();
        watch(page, name, problems);
        const query = new URLSearchParams({
          server: srv!.url,
          token: access,
          room: String(room.id),
        });
        await page.goto(`${pageOrigin}/original.html?${query}`);
        return page;
      };
      const caller = await open("caller", alice.access);
      const callee = await open("callee", bob.access);
      const pages = { caller, callee };
      const context = async () =>
        JSON.stringify({
          caller: await originalStateOf(caller),
          callee: await originalStateOf(callee),
        });

      const open2 = `globalThis.state.sockets.chat === "open" && ` +
        `globalThis.state.sockets.video === "open"`;
      await until(caller, open2, "the caller's two sockets open", pages);
      await until(callee, open2, "the callee's two sockets open", pages);

      // Chat first, as in the page: both chat sockets keep both messages.
      await caller.evaluate("globalThis.say('hello from the caller')");
      await callee.evaluate("globalThis.say('hello from the callee')");
      for (const page of [caller, callee]) {
        await until(page, "globalThis.state.chat.length === 2", "both chat messages", pages);
      }

      // The caller starts the call; the callee sees it ring and answers.
      await caller.click("#start");
      await callee.waitForSelector("#incoming:not([hidden])", { timeout: WAIT });
      await callee.click("#answer");
      const connected = `globalThis.state.connectionState === "connected" && ` +
        `globalThis.state.remoteTracks.includes("video")`;
      await until(caller, connected, "the caller connects", pages);
      await until(callee, connected, "the callee connects", pages);

      const a = await originalStateOf(caller);
      const b = await originalStateOf(callee);
      assert.equal(a.me, alice.user.id, await context());
      assert.equal(b.me, bob.user.id, await context());

      // What went out was the original front-end's shape: top-level sdp, its own sender_id,
      // and candidates as RTCIceCandidate.toJSON() makes them.
      const offer = a.sent.find((f) => f.type === "webrtc-offer")!;
      const answer = b.sent.find((f) => f.type === "webrtc-answer")!;
      for (const [frame, sender] of [[offer, alice], [answer, bob]] as const) {
        assert.deepEqual(Object.keys(frame).sort(), ["sdp", "sender_id", "type"]);
        assert.match(String(frame.sdp), /^v=0\r\n/);
        assert.equal(frame.sender_id, sender.user.id);
      }
      const sentCandidates = [...a.sent, ...b.sent].filter((f) =>
        f.type === "webrtc-ice-candidate"
      );
      assert.ok(sentCandidates.length > 0, await context());
      for (const frame of sentCandidates) {
        assert.deepEqual(Object.keys(frame).sort(), ["candidate", "sender_id", "type"]);
        const candidate = frame.candidate as Record<string, unknown>;
        assert.equal(typeof candidate.candidate, "string");
        assert.ok("sdpMid" in candidate && "sdpMLineIndex" in candidate, JSON.stringify(frame));
      }

      // What came in was relayed as sent, with the server's sender_id: the other person's.
      const offerIn = b.received.find((f) => f.type === "webrtc-offer");
      const answerIn = a.received.find((f) => f.type === "webrtc-answer");
      assert.deepEqual(offerIn, {
        type: "webrtc-offer",
        keys: ["sdp", "sender_id", "type"],
        sender_id: alice.user.id,
      });
      assert.deepEqual(answerIn, {
        type: "webrtc-answer",
        keys: ["sdp", "sender_id", "type"],
        sender_id: bob.user.id,
      });
      for (const [side, other] of [[a, bob], [b, alice]] as const) {
        for (const frame of side.received) {
          assert.equal(frame.sender_id, other.user.id, JSON.stringify(frame));
        }
        // The video socket left the chat alone and the chat socket the signals, as the
        // original's components do; the video socket never heard its own signals.
        assert.ok(side.ignored.chatOnVideo >= 2, await context());
        assert.ok(side.ignored.signalsOnChat >= 1, await context());
        assert.equal(side.ignored.own, 0, await context());
      }
      // The caller took the callee's candidates (the callee answers late, as a person does,
      // and may have let the caller's early ones go, exactly like the original).
      assert.ok(a.candidates.added > 0, await context());
      assert.deepEqual([...a.errors, ...b.errors], [], await context());

      await caller.screenshot({ path: new URL("original-caller.png", OUTPUT).pathname });
      await callee.screenshot({ path: new URL("original-callee.png", OUTPUT).pathname });

      // "End" on the caller's side hangs up the callee through the server.
      await caller.click("#end");
      await until(
        callee,
        `globalThis.state.connectionState === "closed" && ` +
          `globalThis.state.received.some((f) => f.type === "webrtc-hangup")`,
        "the callee hears the caller hang up",
        pages,
      );
      const after = await originalStateOf(callee);
      assert.deepEqual(after.received.at(-1), {
        type: "webrtc-hangup",
        keys: ["sender_id", "type"],
        sender_id: alice.user.id,
      });
      assert.deepEqual(after.sockets, { chat: "open", video: "open" });
      assert.deepEqual(problems, []);
    } finally {
      for (const context of contexts) await context.close().catch(() => {});
      await browser?.close().catch(() => {});
      await pageServer?.shutdown();
      await srv?.[Symbol.asyncDispose]();
    }
  },
});
