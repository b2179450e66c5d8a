// `deno task bench`: our server, the official socket.io@4 on Node (on Node's http + ws, and on
// uWebSockets.js) and a bare Deno WebSocket broadcast, side by side on this machine, in one run.
// Each scenario starts a fresh server pinned to one core and the load generator pinned to the
// other; the servers take turns, round after round, and the table reports the medians. It
// prints figures and never fails on a number.
//
//   deno task bench              three rounds of everything (about 20 minutes)
//   deno task bench --quick      one short round (about 4 minutes)
//   deno task bench --only=fanout,storm --rounds=1
//   deno task bench --quick --only=persisted --cpu-prof   (V8 profiles of every server run
//                                 in bench/results/profiles/; read them with bench/profile.ts)
import { createClient } from "@libsql/client";
import { countPostgresRows, dropBenchDatabase } from "./lib/postgres.ts";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  BENCH_DIR,
  commandExists,
  commandOutput,
  NODE_DIR,
  pinning,
  runGenerator,
  startRedis,
  startServer,
} from "./lib/processes.ts";
import {
  buildRows,
  markdownTable,
  type Results,
  type RoundResult,
  textTable,
} from "./lib/report.ts";
import { type Scenario, scenarios, type ServerKind, settingsFor } from "./lib/scenarios.ts";
import { writeCharts } from "./lib/charts.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    only: { type: "string" },
    "no-write": { type: "boolean", default: false },
    "cpu-prof": { type: "boolean", default: false },
  },
});

const log = (message: string) => console.error(`[bench] ${message}`);

async function ensureNodeSide(): Promise<void> {
  if (!await commandExists("node")) {
    throw new Error("node is required (socket.io@4 and the load generator run on it)");
  }
  // Every dependency of bench/node/package.json installed, or `npm ci` (a new one was added).
  const { dependencies } = JSON.parse(await Deno.readTextFile(join(NODE_DIR, "package.json")));
  try {
    for (const name of Object.keys(dependencies)) {
      await Deno.stat(join(NODE_DIR, "node_modules", name, "package.json"));
    }
  } catch {
    log("installing bench/node (npm ci)");
    const { success } = await new Deno.Command("npm", {
      args: ["ci", "--no-audit", "--no-fund"],
      cwd: NODE_DIR,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!success) throw new Error("npm ci failed in bench/node");
  }
}

async function machine() {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const pkg = JSON.parse(
    await Deno.readTextFile(join(NODE_DIR, "node_modules", "socket.io", "package.json")),
  );
  return {
    cpu: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1] ?? "unknown",
    cores: navigator.hardwareConcurrency,
    memoryGb: Math.round(Deno.systemMemoryInfo().total / 1024 ** 3),
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    node: await commandOutput("node", ["--version"]),
    socketio: pkg.version,
  };
}

async function countRows(db: string, table: string): Promise<number> {
  if (db.startsWith("postgres")) {
    try {
      return await countPostgresRows(db, table);
    } finally {
      await dropBenchDatabase(db);
    }
  }
  const client = createClient({ url: `file:${db}` });
  try {
    const rs = await client.execute(`SELECT count(*) AS n FROM ${table}`);
    return Number(rs.rows[0].n);
  } finally {
    client.close();
  }
}

/** The server's command with V8's CPU profiler on (Deno and Node take the same flags). */
function profiled(argv: string[], dir: string): string[] {
  const flags = ["--cpu-prof", `--cpu-prof-dir=${dir}`];
  const at = argv[1] === "run" ? 2 : 1;
  return [...argv.slice(0, at), ...flags, ...argv.slice(at)];
}

/** A cluster scenario: a fresh Redis, then its nodes, all on the servers' core. */
async function runCluster(
  scenario: Scenario,
  kind: ServerKind,
  pins: { server: string[]; generator: string[] },
): Promise<RoundResult> {
  const redis = await startRedis(pins.server);
  const nodes: Awaited<ReturnType<typeof startServer>>[] = [];
  try {
    for (let i = 0; i < scenario.nodes!; i++) {
      nodes.push(await startServer(pins.server, scenario.clusterArgv!(kind, redis.url)));
    }
    const task = scenario.clusterTask!(kind, nodes.map((n) => n.info), redis.info.pid);
    return await runGenerator(pins.generator, task);
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await redis.stop();
  }
}

async function runOne(
  scenario: Scenario,
  kind: ServerKind,
  pins: { server: string[]; generator: string[] },
  round: number,
): Promise<RoundResult> {
  if (scenario.nodes) return await runCluster(scenario, kind, pins);
  const dir = await Deno.makeTempDir({ prefix: `bench-${scenario.name}-` });
  try {
    let argv = scenario.serverArgv(kind, dir);
    if (args["cpu-prof"]) {
      argv = profiled(
        argv,
        join(BENCH_DIR, "results", "profiles", `${scenario.name}-${kind}-${round}`),
      );
    }
    const server = await startServer(pins.server, argv);
    let result: RoundResult;
    try {
      result = await runGenerator(pins.generator, scenario.task(kind, server.info));
    } finally {
      await server.stop();
    }
    if (scenario.countRows && !result.error) {
      result.rows = kind === "ours"
        ? await countRows(server.info.db!, "messages")
        : await countRows(join(dir, "reference.db"), "messages");
    }
    return result;
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

function summary(kind: ServerKind, r: RoundResult): string {
  if (r.error) return `${kind}: FAILED ${r.error}`;
  if (r.fixed) {
    const first = r.fixed[0];
    return `${kind}: ${first.cpuUsPerDelivery} µs/delivery, p99 ${first.p99} ms, ` +
      `max ${r.maxRate}/s (${r.rampStoppedBy})`;
  }
  if (r.handshakesPerSec) return `${kind}: ${r.handshakesPerSec} handshakes/s, ${r.errors} errors`;
  return `${kind}: ${Math.round(r.rssPerConnection / 102.4) / 10} KB RSS per connection`;
}

/** A full run of everything replaces the table in BENCHMARKS.md (between its markers). */
async function updateBenchmarksPage(markdown: string): Promise<boolean> {
  const page = join(BENCH_DIR, "..", "BENCHMARKS.md");
  const text = await Deno.readTextFile(page).catch(() => undefined);
  const start = "<!-- results:start -->";
  const end = "<!-- results:end -->";
  if (!text || !text.includes(start) || !text.includes(end)) return false;
  const before = text.slice(0, text.indexOf(start) + start.length);
  const after = text.slice(text.indexOf(end));
  await Deno.writeTextFile(page, `${before}\n\n${markdown}\n${after}`);
  log("updated the table in BENCHMARKS.md");
  return true;
}

async function main(): Promise<void> {
  const started = Date.now();
  const settings = settingsFor(args.quick, args.rounds ? Number(args.rounds) : undefined);
  const only = args.only?.split(",");
  const list = scenarios(settings).filter((s) => only ? only.includes(s.name) : !s.optional);
  await ensureNodeSide();
  const pins = await pinning();
  if (!pins) log("taskset or a second core is missing: servers and generator are NOT pinned");
  const host = await machine();
  log(
    `${host.cpu}, ${host.cores} cores; Deno ${host.deno}, Node ${host.node}, socket.io ${host.socketio}`,
  );

  const results: Results = {};
  for (let round = 1; round <= settings.rounds; round++) {
    for (const scenario of list) {
      // The two servers take turns: who goes first alternates between rounds.
      // A face on the persisted path reuses persisted's references when that runs too.
      const servers = scenario.servers.filter((kind) =>
        kind === "ours" || !scenario.referenceOf ||
        !list.some((s) => s.name === scenario.referenceOf)
      );
      const order = round % 2 === 1 ? servers : [...servers].reverse();
      for (const kind of order) {
        log(`round ${round}/${settings.rounds} · ${scenario.name} · ${kind}`);
        const r = await runOne(scenario, kind, pins ?? { server: [], generator: [] }, round);
        log(`  ${summary(kind, r)}`);
        ((results[scenario.name] ??= {})[kind] ??= []).push(r);
      }
    }
  }

  const rows = buildRows(results);
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  const date = new Date().toISOString();
  const header = `${date} · ${settings.quick ? "quick" : "full"} · ${settings.rounds} round(s) · ` +
    `${minutes} min · ${host.cpu}, ${host.cores} cores, ${host.memoryGb} GB, Linux ${host.kernel}` +
    ` · Deno ${host.deno} · Node ${host.node} · socket.io ${host.socketio}` +
    (pins ? " · server on core 1, generator on core 0" : " · unpinned");
  console.log(`\n${header}\n\n${textTable(rows)}\n`);

  if (args["no-write"]) return;
  const out = join(BENCH_DIR, "results");
  await Deno.mkdir(out, { recursive: true });
  // Only a run of every scenario replaces the committed results; one with --only is kept aside.
  const name = `${only ? "partial" : "latest"}${settings.quick ? "-quick" : ""}`;
  await Deno.writeTextFile(
    join(out, `${name}.json`),
    JSON.stringify({ date, settings, machine: host, pinned: !!pins, rows, raw: results }, null, 2) +
      "\n",
  );
  const markdown = `${header}\n\n${markdownTable(rows)}\n`;
  await Deno.writeTextFile(join(out, `${name}.md`), markdown);
  log(`wrote bench/results/${name}.json and ${name}.md`);
  const written = [join(out, `${name}.json`), join(out, `${name}.md`)];
  // Charts of a full run sit next to its table; a quick or partial run draws its own aside.
  const chartsDir = join(out, name === "latest" ? "charts" : `charts-${name}`);
  const charts = await writeCharts({ rows, raw: results }, chartsDir);
  log(`wrote ${charts.length} chart(s) to ${chartsDir}`);
  if (!settings.quick && !only && await updateBenchmarksPage(markdown)) {
    written.push(join(BENCH_DIR, "..", "BENCHMARKS.md"));
  }
  // Written as the repository's formatter would, so `deno task check` stays clean.
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", ...written] }).output();
}

await main();
