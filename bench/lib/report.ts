// Turns the rounds' raw results into the table: one row per figure, our median next to the
// other server's, the ratio, the target and the validity gates behind the figure.
import type { ServerKind } from "./scenarios.ts";

// deno-lint-ignore no-explicit-any
export type RoundResult = Record<string, any>;
export type Results = Record<string, Partial<Record<ServerKind, RoundResult[]>>>;

export interface Row {
  scenario: string;
  metric: string;
  versus: Versus;
  ours: number | null;
  other: number | null;
  /** ours ÷ other. */
  ratio: number | null;
  /** e.g. "≤ 0.5×"; met is undefined without a target or a ratio. */
  target?: string;
  met?: boolean;
  /** Our figure (or the other's) is only a lower bound: the generator ran out first. */
  oursLowerBound?: boolean;
  otherLowerBound?: boolean;
  gates: string;
  rounds: { ours: (number | null)[]; other: (number | null)[] };
}

/** Who a row compares ours with: socket.io, socket.io on uWebSockets.js, the bare WebSocket. */
export type Versus = "socket.io" | "socket.io (uWS)" | "bare WebSocket";

/** A row's other server in the results. */
const KIND: Record<Versus, ServerKind> = {
  "socket.io": "socketio",
  "socket.io (uWS)": "socketio-uws",
  "bare WebSocket": "ceiling",
};

export function median(values: (number | null | undefined)[]): number | null {
  const xs = values.filter((v): v is number => typeof v === "number" && Number.isFinite(v))
    .sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = Math.floor(xs.length / 2);
  return xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

interface Target {
  op: "<=" | ">=";
  ratio: number;
}

function compare(
  scenario: string,
  metric: string,
  ours: RoundResult[] | undefined,
  other: RoundResult[] | undefined,
  pick: (r: RoundResult) => number | null | undefined,
  gates: string,
  target?: Target,
  versus: Versus = "socket.io",
): Row {
  const oursRounds = (ours ?? []).map((r) => pick(r) ?? null);
  const otherRounds = (other ?? []).map((r) => pick(r) ?? null);
  const o = median(oursRounds);
  const t = median(otherRounds);
  const ratio = o !== null && t !== null && t !== 0 ? o / t : null;
  return {
    scenario,
    metric,
    versus,
    ours: o,
    other: t,
    ratio,
    target: target ? `${target.op === "<=" ? "≤" : "≥"} ${target.ratio}×` : undefined,
    met: target && ratio !== null
      ? (target.op === "<=" ? ratio <= target.ratio : ratio >= target.ratio)
      : undefined,
    gates,
    rounds: { ours: oursRounds, other: otherRounds },
  };
}

const failed = (r: RoundResult) => typeof r.error === "string";

/** "<server> did not run: <why>" when every round of the other server failed. */
function notRun(versus: Versus, other: RoundResult[] | undefined): string | undefined {
  if (!other || other.length === 0 || !other.every(failed)) return undefined;
  return `${versus} did not run: ${String(other[0].error).slice(0, 160)}`;
}

/** The gates of one fixed-rate step over every round of both servers. */
function stepGates(index: number, ...runs: (RoundResult[] | undefined)[]): string {
  const steps = runs.flatMap((rs) => (rs ?? []).map((r) => r.fixed?.[index]));
  if (steps.length === 0 || steps.some((s) => s === undefined)) return "run failed";
  const lost = steps.reduce((n, s) => n + s.lost, 0);
  const gen = Math.max(...steps.map((s) => s.genCpuPct));
  const delivered = lost === 0 ? "delivered = expected" : `LOST ${lost}`;
  const generator = gen < 70 ? `generator ≤ ${Math.round(gen)}% CPU` : `generator-bound (${gen}%)`;
  return `${delivered}; ${generator}`;
}

function rampGates(...runs: (RoundResult[] | undefined)[]): string {
  const all = runs.flatMap((rs) => rs ?? []);
  if (all.length === 0 || all.some(failed)) return "run failed";
  const byGen = all.filter((r) => r.rampStoppedBy === "generator").length;
  return byGen > 0
    ? `p99 ≤ 50 ms, no loss; ${byGen} of ${all.length} ramps stopped by the generator`
    : "p99 ≤ 50 ms, no loss; every ramp stopped by the server";
}

const stopsAtGenerator = (rs: RoundResult[] | undefined) =>
  (rs ?? []).some((r) => r.rampStoppedBy === "generator");

export function buildRows(results: Results): Row[] {
  const rows: Row[] = [];
  const f = results.fanout ?? {};
  const fixedRow = (
    scenario: string,
    ours: RoundResult[] | undefined,
    other: RoundResult[] | undefined,
    index: number,
    label: string,
    field: string,
    unit: string,
    target?: Target,
    versus?: Versus,
  ) =>
    rows.push(compare(
      scenario,
      `${label}: ${unit}`,
      ours,
      other,
      (r) => r.fixed?.[index]?.[field],
      notRun(versus ?? "socket.io", other) ?? stepGates(index, ours, other),
      target,
      versus,
    ));
  const rampRow = (
    scenario: string,
    ours: RoundResult[] | undefined,
    other: RoundResult[] | undefined,
    label: string,
    scale: number,
    target?: Target,
    versus?: Versus,
  ) => {
    const row = compare(
      scenario,
      label,
      ours,
      other,
      (r) => (r.maxRate ?? 0) * scale || null,
      notRun(versus ?? "socket.io", other) ?? rampGates(ours, other),
      target,
      versus,
    );
    row.oursLowerBound = stopsAtGenerator(ours);
    row.otherLowerBound = stopsAtGenerator(other);
    rows.push(row);
  };

  const highest = "highest inbound msg/s (p99 ≤ 50 ms, no loss)";
  const uws = "socket.io (uWS)";
  if (results.fanout) fanoutRows();
  function fanoutRows() {
    for (const [i, rate] of [[0, "20k"], [1, "50k"]] as const) {
      const label = `${rate} deliveries/s`;
      const cpu = "CPU µs per delivery";
      fixedRow("fan-out", f.ours, f.socketio, i, label, "cpuUsPerDelivery", cpu);
      fixedRow(
        "fan-out",
        f.ours,
        f["socketio-uws"],
        i,
        label,
        "cpuUsPerDelivery",
        cpu,
        undefined,
        uws,
      );
      fixedRow("fan-out", f.ours, f.socketio, i, label, "p50", "p50 ms");
      fixedRow("fan-out", f.ours, f.socketio, i, label, "p99", "p99 ms");
      fixedRow("fan-out", f.ours, f.socketio, i, label, "p999", "p99.9 ms");
      fixedRow("fan-out", f.ours, f.ceiling, i, label, "cpuUsPerDelivery", cpu, {
        op: "<=",
        ratio: 1.1,
      }, "bare WebSocket");
    }
    const label = "highest deliveries/s (p99 ≤ 50 ms, no loss)";
    rampRow("fan-out", f.ours, f.socketio, label, 1000);
    rampRow("fan-out", f.ours, f["socketio-uws"], label, 1000, undefined, uws);
    fixedRow("fan-out", f.ours, f.socketio, 1, "50k deliveries/s", "serverRssMb", "server RSS MB");
  }

  for (const [name, label] of [["chat100", "chat 100×10"], ["chat500", "chat 500×10"]]) {
    const c = results[name];
    if (!c) continue;
    const [rate, cpu] = ["2,000 msg/s in", "CPU µs per inbound"];
    fixedRow(label, c.ours, c.socketio, 0, rate, "cpuUsPerInbound", cpu, { op: "<=", ratio: 0.6 });
    fixedRow(label, c.ours, c["socketio-uws"], 0, rate, "cpuUsPerInbound", cpu, undefined, uws);
    // The runtime's floor: a target below the bare broadcast's share is out of reach.
    fixedRow(
      label,
      c.ours,
      c.ceiling,
      0,
      rate,
      "cpuUsPerInbound",
      cpu,
      undefined,
      "bare WebSocket",
    );
    const floor = rows[rows.length - 1];
    const sio = median((c.socketio ?? []).map((r) => r.fixed?.[0]?.cpuUsPerInbound));
    if (floor.other !== null && sio !== null) {
      const goal = sio * 0.6;
      floor.gates += `; the 0.6× target is ${num(goal)} µs, ${
        goal < floor.other ? "BELOW" : "above"
      } the bare WebSocket's ${num(floor.other)}`;
    }
    fixedRow(label, c.ours, c.socketio, 0, rate, "p99", "p99 ms");
    // chat 100×10 stops at the generator on every server: no target there.
    const target = name === "chat500" ? { op: ">=" as const, ratio: 2 } : undefined;
    rampRow(label, c.ours, c.socketio, highest, 1, target);
    rampRow(label, c.ours, c["socketio-uws"], highest, 1, undefined, uws);
  }

  const tcp = results["fanout-tcp"];
  if (tcp) {
    for (const [i, rate] of [[0, "20k"], [1, "50k"]] as const) {
      fixedRow(
        "own WS layer",
        tcp["ceiling-tcp"],
        tcp.ceiling,
        i,
        `${rate} deliveries/s`,
        "cpuUsPerDelivery",
        "CPU µs per delivery",
        undefined,
        "bare WebSocket",
      );
    }
  }
  // Two nodes of each on one Redis: CPU is both nodes' plus Redis's, per delivery.
  const cf = results["cluster-fanout"];
  if (cf) {
    for (const [i, rate] of [[0, "5k"], [1, "20k"]] as const) {
      const label = `${rate} deliveries/s`;
      fixedRow(
        "cluster fan-out",
        cf.ours,
        cf.socketio,
        i,
        label,
        "cpuUsPerDelivery",
        "CPU µs per delivery (2 nodes + Redis)",
      );
      fixedRow("cluster fan-out", cf.ours, cf.socketio, i, label, "p50", "p50 ms");
      fixedRow("cluster fan-out", cf.ours, cf.socketio, i, label, "p99", "p99 ms");
    }
    rampRow(
      "cluster fan-out",
      cf.ours,
      cf.socketio,
      "highest deliveries/s (p99 ≤ 50 ms, no loss)",
      1000,
    );
  }
  const cc = results["cluster-chat100"];
  if (cc) {
    for (const [i, label] of [[0, "500 msg/s in"], [1, "2,000 msg/s in"]] as const) {
      const scenario = "cluster chat 100×10";
      const cpu = "CPU µs per delivery (2 nodes + Redis)";
      fixedRow(scenario, cc.ours, cc.socketio, i, label, "cpuUsPerDelivery", cpu);
      fixedRow(scenario, cc.ours, cc.socketio, i, label, "p50", "p50 ms");
      fixedRow(scenario, cc.ours, cc.socketio, i, label, "p99", "p99 ms");
    }
    rampRow(
      "cluster chat 100×10",
      cc.ours,
      cc.socketio,
      "highest inbound msg/s (p99 ≤ 50 ms, no loss)",
      1,
    );
  }
  if (results.persisted) persistedRows("persisted", "2,000", results.persisted, 1.5);
  // The raw-WebSocket faces: ours on the face, the references of `persisted` (same app).
  for (
    const [name, scenario] of [["persisted-inbox", "persisted inbox"], [
      "persisted-lounge",
      "persisted lounge",
    ]]
  ) {
    const face = results[name];
    if (!face) continue;
    const refs = results.persisted ?? {};
    persistedRows(scenario, "2,000", {
      ours: face.ours,
      socketio: face.socketio ?? refs.socketio,
      "socketio-uws": face["socketio-uws"] ?? refs["socketio-uws"],
    }, 1.5);
  }
  if (results["persisted-full"]) {
    persistedRows("persisted FULL", "1,000", results["persisted-full"], 2.5);
  }
  if (results["persisted-postgres"]) {
    persistedRows("persisted PostgreSQL", "250", results["persisted-postgres"]);
  }
  if (results.idle) idleRows(results.idle);
  if (results.storm) stormRows(results.storm);
  return rows;

  /**
   * `rateTarget`: the highest rate's target ratio; none for PostgreSQL, which has no reference
   * (measured only). Durability is a target of its own: rows = acks in every round.
   */
  function persistedRows(scenario: string, rate: string, p: Results[string], rateTarget?: number) {
    const at = `${rate} msg/s in`;
    const gated = rateTarget !== undefined;
    const cpu = "CPU µs per inbound";
    fixedRow(
      scenario,
      p.ours,
      p.socketio,
      0,
      at,
      "cpuUsPerInbound",
      cpu,
      gated ? { op: "<=", ratio: 1 } : undefined,
    );
    if (p["socketio-uws"]) {
      fixedRow(scenario, p.ours, p["socketio-uws"], 0, at, "cpuUsPerInbound", cpu, undefined, uws);
    }
    fixedRow(scenario, p.ours, p.socketio, 0, at, "p99", "p99 ms");
    rampRow(
      scenario,
      p.ours,
      p.socketio,
      highest,
      1,
      gated ? { op: ">=", ratio: rateTarget } : undefined,
    );
    if (p["socketio-uws"]) rampRow(scenario, p.ours, p["socketio-uws"], highest, 1, undefined, uws);
    const committed = (rs: RoundResult[] | undefined) =>
      (rs ?? []).map((r) =>
        r.error ? "failed" : `${r.rows}/${r.acked}${r.rows === r.acked ? "" : " MISMATCH"}`
      ).join(", ");
    const others = (["socketio", "socketio-uws"] as const).filter((k) => p[k])
      .map((k) => `; ${k === "socketio" ? "socket.io" : uws} ${committed(p[k])}`).join("");
    const ours = p.ours ?? [];
    const durable = ours.length > 0 && ours.every((r) => !r.error && r.rows === r.acked);
    rows.push({
      ...compare(
        scenario,
        "rows committed − messages acked",
        p.ours,
        p.socketio,
        (r) => r.error ? null : r.rows - r.acked,
        `rows/acked per round: ours ${committed(p.ours)}${others}`,
      ),
      ratio: null,
      ...(gated ? { target: "= 0 every round", met: durable } : {}),
    });
  }

  function idleRows(idle: Results[string]) {
    const idleGates = (rs: RoundResult[] | undefined) =>
      (rs ?? []).map((r) => r.error ? "failed" : `${r.connected}/${r.clients}`).join(", ");
    rows.push(compare(
      "idle",
      "RSS per connection, KB",
      idle.ours,
      idle.socketio,
      (r) => r.error ? null : r.rssPerConnection / 1024,
      `connected: ours ${idleGates(idle.ours)}; socket.io ${idleGates(idle.socketio)}`,
    ));
    rows.push(compare(
      "idle",
      "JS heap per connection, KB",
      idle.ours,
      idle.socketio,
      (r) => r.error ? null : r.heapPerConnection / 1024,
      "after a forced GC on both",
      { op: "<=", ratio: 0.5 },
    ));
    const metrics = [["RSS", "rssPerConnection"], ["JS heap", "heapPerConnection"]] as const;
    for (const versus of [uws, "bare WebSocket"] as const) {
      const other = idle[KIND[versus]];
      if (!other) continue;
      for (const [metric, field] of metrics) {
        rows.push(compare(
          "idle",
          `${metric} per connection, KB`,
          idle.ours,
          other,
          (r) => r.error ? null : r[field] / 1024,
          notRun(versus, other) ?? `connected: ${versus} ${idleGates(other)}`,
          versus === "bare WebSocket" && metric === "RSS" ? { op: "<=", ratio: 1.1 } : undefined,
          versus,
        ));
      }
    }
  }

  function stormRows(storm: Results[string]) {
    const stormGates = (rs: RoundResult[] | undefined) =>
      (rs ?? []).map((r) => r.error ? "failed" : `${r.errors}`).join(", ");
    const genMax = Math.max(
      ...[...(storm.ours ?? []), ...(storm.socketio ?? [])].map((r) => r.genCpuPct ?? 0),
    );
    const errors = `errors per round: ours ${stormGates(storm.ours)}; socket.io ${
      stormGates(storm.socketio)
    }; generator ≤ ${Math.round(genMax)}% CPU`;
    rows.push(
      compare(
        "storm",
        "handshakes/s",
        storm.ours,
        storm.socketio,
        (r) => r.handshakesPerSec,
        errors,
      ),
    );
    const fast = storm["socketio-uws"];
    if (fast) {
      rows.push(compare(
        "storm",
        "handshakes/s",
        storm.ours,
        fast,
        (r) => r.handshakesPerSec,
        notRun(uws, fast) ?? `errors per round: ${uws} ${stormGates(fast)}`,
        undefined,
        uws,
      ));
    }
    rows.push(
      compare(
        "storm",
        "time until all connected, ms",
        storm.ours,
        storm.socketio,
        (r) => r.totalMs,
        errors,
      ),
    );
    rows.push(
      compare("storm", "p99 handshake, ms", storm.ours, storm.socketio, (r) => r.p99, errors),
    );
  }
}

// ---------------------------------------------------------------- rendering

function num(v: number | null, lowerBound = false): string {
  if (v === null) return "–";
  const abs = Math.abs(v);
  const s = abs >= 1000
    ? Math.round(v).toLocaleString("en")
    : abs >= 100
    ? v.toFixed(0)
    : abs >= 10
    ? v.toFixed(1)
    : v.toFixed(2);
  return lowerBound ? `≥ ${s}` : s;
}

const SUFFIX: Record<Versus, string> = {
  "socket.io": "",
  "socket.io (uWS)": " (uWS)",
  "bare WebSocket": " (bare WS)",
};

function verdict(row: Row): string {
  if (!row.target) return "";
  const bounds = row.oursLowerBound || row.otherLowerBound ? " (bound)" : "";
  if (row.met === undefined) return `${row.target}: n/a`;
  return `${row.target}: ${row.met ? "met" : "missed"}${bounds}`;
}

export function cells(row: Row): string[] {
  return [
    row.scenario,
    row.metric,
    num(row.ours, row.oursLowerBound),
    `${num(row.other, row.otherLowerBound)}${SUFFIX[row.versus]}`,
    row.ratio === null ? "–" : `${row.ratio.toFixed(2)}×`,
    verdict(row),
    row.gates,
  ];
}

export const HEADERS = ["scenario", "figure", "ours", "socket.io", "ratio", "target", "gates"];

export function textTable(rows: Row[]): string {
  const body = rows.map(cells);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cols: string[]) => cols.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(HEADERS), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

export function markdownTable(rows: Row[]): string {
  const esc = (s: string) => s.replaceAll("|", "\\|");
  return [
    `| ${HEADERS.join(" | ")} |`,
    `|${HEADERS.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${cells(r).map(esc).join(" | ")} |`),
  ].join("\n");
}
