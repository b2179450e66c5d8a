// The streamed "list everything" response (routes/list_stream.ts), over a real Deno.serve: one
// JSON array from a page source, one page held at a time, the source stopped when the client
// goes away, and a failing source aborting the body instead of ending a shorter valid array.
import assert from "node:assert/strict";
import { Hono } from "hono";
import type { LogFields, Logger } from "@/lib/log.ts";
import { counterValue, createMetrics } from "@/lib/metrics.ts";
import { createListStreams, ListAborted, mapPages } from "@/routes/list_stream.ts";
import { waitFor } from "../fixtures/mod.ts";

/** A logger that keeps what it was told, for the assertions. */
function keptLog(): Logger & { lines: { level: string; msg: string; fields?: LogFields }[] } {
  const lines: { level: string; msg: string; fields?: LogFields }[] = [];
  const at = (level: string) => (msg: string, fields?: LogFields) => {
    lines.push({ level, msg, fields });
  };
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** Serves `pages()` as the list "things" at /things on port 0. */
function serveList(pages: () => AsyncIterable<unknown[]>) {
  const metrics = createMetrics();
  const log = keptLog();
  const lists = createListStreams({ log, metrics });
  const app = new Hono().get("/things", (c) => lists.respond(c, "things", pages(), { "X-A": "1" }));
  const serverErrors: unknown[] = [];
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
    onError(error) {
      serverErrors.push(error);
      return new Response(null, { status: 500 });
    },
  }, app.fetch);
  return {
    serverErrors,
    url: `http://127.0.0.1:${server.addr.port}/things`,
    metrics,
    log,
    outcome: (outcome: string) => counterValue(metrics.listStreams, { list: "things", outcome }),
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

Deno.test("a streamed list is one JSON array of every page's items in order, one page held at a time", async () => {
  const sizes = [3, 0, 5, 2];
  await using srv = serveList(async function* () {
    let n = 0;
    for (const size of sizes) yield Array.from({ length: size }, () => ({ n: n++ }));
  });
  const res = await fetch(srv.url);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/json");
  assert.equal(res.headers.get("x-a"), "1");
  assert.deepEqual(await res.json(), Array.from({ length: 10 }, (_, n) => ({ n })));
  assert.equal(await counterValue(srv.metrics.listPages, { list: "things" }), sizes.length);
  assert.equal(await counterValue(srv.metrics.listRowsPeak, { list: "things" }), 5);
  assert.equal(await srv.outcome("complete"), 1);
});

Deno.test("a streamed list without items is an empty JSON array", async () => {
  await using srv = serveList(async function* () {});
  const res = await fetch(srv.url);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "[]");
  assert.equal(await srv.outcome("complete"), 1);
});

Deno.test("mapPages shapes each page only when it is read", async () => {
  const shaped: number[] = [];
  const pages = mapPages(
    (async function* () {
      yield [1, 2];
      yield [3];
    })(),
    (page) => {
      shaped.push(page.length);
      return page.map((n) => n * 10);
    },
  );
  const iterator = pages[Symbol.asyncIterator]();
  assert.deepEqual(shaped, []);
  assert.deepEqual((await iterator.next()).value, [10, 20]);
  assert.deepEqual(shaped, [2]);
  assert.deepEqual((await iterator.next()).value, [30]);
  assert.equal((await iterator.next()).done, true);
});

Deno.test("a client that goes away stops an endless page source", async () => {
  let read = 0;
  let stopped = false;
  await using srv = serveList(async function* () {
    try {
      while (true) {
        read++;
        yield Array.from({ length: 100 }, (_, i) => ({ i, padding: "x".repeat(100) }));
      }
    } finally {
      stopped = true;
    }
  });
  const aborter = new AbortController();
  const res = await fetch(srv.url, { signal: aborter.signal });
  const reader = res.body!.getReader();
  assert.equal(new TextDecoder().decode((await reader.read()).value).slice(0, 2), "[{");
  aborter.abort();
  await reader.cancel().catch(() => {});
  // An endless source ends only because the stream was cancelled.
  await waitFor(() => stopped, { what: "the page source to be stopped" });
  assert.equal(await srv.outcome("cancelled"), 1);
  const pagesWhenStopped = read;
  assert.equal(await counterValue(srv.metrics.listPages, { list: "things" }), pagesWhenStopped);
  assert.equal(await srv.outcome("complete"), 0);
});

Deno.test("a source failing mid-stream aborts the response and is logged, never a shorter valid array", async () => {
  await using srv = serveList(async function* () {
    yield [{ n: 1 }];
    yield [{ n: 2 }];
    throw new Error("database is gone");
  });
  const res = await fetch(srv.url);
  assert.equal(res.status, 200, "the status was sent before the failure");
  await assert.rejects(res.text(), "the body is broken, not a complete array");
  await waitFor(() => srv.log.lines.length > 0, { what: "the failure's log line" });
  const [line] = srv.log.lines;
  assert.equal(line.level, "error");
  assert.equal(line.msg, "list stream failed");
  assert.equal(line.fields?.list, "things");
  assert.equal(line.fields?.path, "/things");
  assert.equal((line.fields?.error as Error).message, "database is gone");
  assert.equal(await srv.outcome("failed"), 1);
  // The server hears of the abort only as ListAborted (main.ts does not log it twice).
  await waitFor(() => srv.serverErrors.length > 0, { what: "the server's onError" });
  assert.ok(srv.serverErrors.every((e) => e instanceof ListAborted));
});
