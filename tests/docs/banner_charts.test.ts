// The `deno task dev` banner names every face's entry points, the docs and the demo accounts;
// the benchmark's charts come out of a results JSON with a line or bar per server.
import assert from "node:assert/strict";
import { charts } from "@/bench/lib/charts.ts";
import { devBanner } from "@/routes/banner.ts";

Deno.test("the dev banner lists every face's entry points, the docs page and the demo accounts", () => {
  const banner = devBanner({
    url: "http://localhost:8000",
    socketioPath: "/socket.io/",
    created: [{ username: "alice", password: "secret-once", role: "member" }],
    existing: [],
    metrics: false,
  });
  for (const face of ["desk", "meet", "inbox", "live", "lounge"]) {
    assert.match(banner, new RegExp(`^  ${face} `, "m"), face);
  }
  assert.match(banner, /http:\/\/localhost:8000\/docs/);
  assert.match(banner, /ws:\/\/localhost:8000\/ws\/chat\//);
  assert.match(banner, /alice \/ secret-once/);
  const later = devBanner({
    url: "http://localhost:8000",
    socketioPath: "/socket.io/",
    created: [],
    existing: ["alice"],
    metrics: true,
  });
  assert.doesNotMatch(later, /secret-once/);
  assert.match(later, /Demo accounts: alice/);
});

Deno.test("the benchmark's JSON gives latency and CPU charts with every server in them", async () => {
  const run = JSON.parse(
    await Deno.readTextFile(new URL("../../bench/results/latest-quick.json", import.meta.url)),
  );
  const drawn = charts(run);
  assert.ok(drawn.has("latency-fanout.svg"));
  assert.ok(drawn.has("cpu-per-delivery.svg"));
  assert.ok(drawn.has("cpu-per-inbound.svg"));
  const fanout = drawn.get("latency-fanout.svg")!;
  assert.match(fanout, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  for (const server of ["ours", "socket.io", "bare WS"]) assert.match(fanout, new RegExp(server));
  const servers = Object.keys(run.raw.fanout).length;
  assert.equal(fanout.match(/<path /g)?.length, servers, "one line per server");
  const cpu = drawn.get("cpu-per-delivery.svg")!;
  assert.match(cpu, /ours/);
  assert.match(cpu, /socket\.io/);
});
