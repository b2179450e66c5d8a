// SVG charts from a run's JSON (a few lines of SVG, no library): p99 latency against the
// offered rate for each server in each ramped scenario, and CPU per delivered (or inbound)
// message side by side. Written next to the results; BENCHMARKS.md shows them.
import type { Results, RoundResult, Row } from "./report.ts";

const WIDTH = 720;
const HEIGHT = 380;
const MARGIN = { top: 40, right: 150, bottom: 50, left: 64 };
const COLORS: Record<string, string> = {
  ours: "#1f77b4",
  socketio: "#ff7f0e",
  "socket.io": "#ff7f0e",
  "socketio-uws": "#d62728",
  "socket.io (uWS)": "#d62728",
  ceiling: "#7f7f7f",
  "bare WebSocket": "#7f7f7f",
};
const NAMES: Record<string, string> = {
  ours: "ours",
  socketio: "socket.io",
  "socketio-uws": "socket.io (uWS)",
  ceiling: "bare WS",
};
const TITLES: Record<string, string> = {
  fanout: "fan-out: 1 room × 1,000 subscribers",
  chat100: "chat: 100 rooms × 10",
  chat500: "chat: 500 rooms × 10",
  persisted: "persisted chat (WAL, synchronous=NORMAL)",
  "persisted-full": "persisted chat (synchronous=FULL)",
  "persisted-inbox": "persisted chat, inbox face (ours only; references under persisted)",
  "persisted-lounge": "persisted chat, lounge face (ours only; references under persisted)",
};

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
const fmt = (n: number) =>
  n >= 1000 ? `${Math.round(n / 100) / 10}k` : String(Math.round(n * 10) / 10);

/** A "nice" upper bound for an axis and its tick step. */
function axis(max: number): { top: number; step: number } {
  const raw = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw || 1));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? magnitude;
  return { top: Math.ceil(max / step) * step || step, step };
}

function frame(title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" ` +
    `viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`,
    ...body,
    "</svg>",
    "",
  ].join("\n");
}

function legend(names: string[]): string[] {
  return names.flatMap((name, i) => {
    const y = MARGIN.top + 10 + i * 20;
    const x = WIDTH - MARGIN.right + 16;
    return [
      `<rect x="${x}" y="${y - 9}" width="14" height="10" fill="${COLORS[name] ?? "#333"}"/>`,
      `<text x="${x + 20}" y="${y}">${esc(NAMES[name] ?? name)}</text>`,
    ];
  });
}

/** The round whose highest passing rate is the median one (what the table reports). */
function medianRound(rounds: RoundResult[]): RoundResult | undefined {
  const sorted = [...rounds].sort((a, b) => (a.maxRate ?? 0) - (b.maxRate ?? 0));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** p99 latency (ms) against offered rate, one line per server; undefined without ramps. */
export function latencyChart(results: Results, scenario: string): string | undefined {
  const servers = results[scenario];
  if (!servers) return undefined;
  const fanout = scenario === "fanout";
  const lines: [string, { x: number; y: number }[]][] = [];
  for (const [kind, rounds] of Object.entries(servers)) {
    const round = medianRound(rounds ?? []);
    const steps = [...(round?.fixed ?? []), ...(round?.ramp ?? [])] as RoundResult[];
    if (steps.length === 0) continue;
    const points = steps
      .map((s) => ({ x: fanout ? s.offeredDeliveriesPerSec : s.rate, y: s.p99 }))
      .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
      .sort((a, b) => a.x - b.x);
    lines.push([kind, points]);
  }
  if (lines.length === 0) return undefined;
  const all = lines.flatMap(([, p]) => p);
  const xs = axis(Math.max(...all.map((p) => p.x)));
  const ys = axis(Math.min(Math.max(...all.map((p) => p.y)), 200));
  const w = WIDTH - MARGIN.left - MARGIN.right;
  const h = HEIGHT - MARGIN.top - MARGIN.bottom;
  const px = (x: number) => MARGIN.left + (x / xs.top) * w;
  const py = (y: number) => MARGIN.top + h - (Math.min(y, ys.top) / ys.top) * h;
  const body: string[] = [];
  for (let y = 0; y <= ys.top; y += ys.step) {
    body.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + w}" y1="${py(y)}" y2="${
        py(y)
      }" stroke="#e5e5e5"/>`,
      `<text x="${MARGIN.left - 6}" y="${py(y) + 4}" text-anchor="end">${fmt(y)}</text>`,
    );
  }
  for (let x = 0; x <= xs.top; x += xs.step) {
    body.push(
      `<text x="${px(x)}" y="${MARGIN.top + h + 16}" text-anchor="middle">${fmt(x)}</text>`,
    );
  }
  const gate = py(50);
  body.push(
    `<line x1="${MARGIN.left}" x2="${MARGIN.left + w}" y1="${gate}" y2="${gate}" ` +
      `stroke="#d62728" stroke-dasharray="4 4"/>`,
    `<text x="${MARGIN.left + w - 4}" y="${
      gate - 4
    }" text-anchor="end" fill="#d62728">p99 gate 50 ms</text>`,
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${
      MARGIN.top + h
    }" stroke="#333"/>`,
    `<line x1="${MARGIN.left}" x2="${MARGIN.left + w}" y1="${MARGIN.top + h}" y2="${
      MARGIN.top + h
    }" stroke="#333"/>`,
    `<text x="${MARGIN.left + w / 2}" y="${HEIGHT - 12}" text-anchor="middle">` +
      `offered ${fanout ? "deliveries" : "inbound messages"} per second</text>`,
    `<text transform="translate(16 ${
      MARGIN.top + h / 2
    }) rotate(-90)" text-anchor="middle">p99 latency, ms</text>`,
  );
  for (const [kind, points] of lines) {
    const color = COLORS[kind] ?? "#333";
    const d = points.map((p, i) => `${i ? "L" : "M"}${px(p.x).toFixed(1)} ${py(p.y).toFixed(1)}`);
    body.push(`<path d="${d.join(" ")}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const p of points) {
      body.push(
        `<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3" fill="${color}"/>`,
      );
    }
  }
  body.push(...legend(lines.map(([kind]) => kind)));
  return frame(`${TITLES[scenario] ?? scenario}: p99 latency against offered rate`, body);
}

/**
 * CPU µs per delivered (`per: "delivery"`, fan-out) or per inbound message (`"inbound"`, chat),
 * ours beside the others, one group per figure.
 */
export function cpuChart(rows: Row[], per: "delivery" | "inbound"): string | undefined {
  const groups = new Map<string, Map<string, number>>();
  for (const row of rows) {
    if (!row.metric.includes(`CPU µs per ${per}`) || row.ours === null) continue;
    const label = `${row.scenario} · ${row.metric.split(":")[0]}`;
    const group = groups.get(label) ?? new Map<string, number>();
    group.set("ours", row.ours);
    if (row.other !== null) group.set(row.versus, row.other);
    groups.set(label, group);
  }
  if (groups.size === 0) return undefined;
  const names = ["ours", "socket.io", "socket.io (uWS)", "bare WebSocket"].filter((n) =>
    [...groups.values()].some((g) => g.has(n))
  );
  const max = Math.max(...[...groups.values()].flatMap((g) => [...g.values()]));
  const xs = axis(max);
  const left = 230;
  const w = WIDTH - left - MARGIN.right;
  const bar = 12;
  const groupHeight = names.length * bar + 14;
  const height = MARGIN.top + groups.size * groupHeight + MARGIN.bottom;
  const px = (x: number) => left + (x / xs.top) * w;
  const axisLabel = `server CPU µs per ${
    per === "delivery" ? "delivered" : "inbound"
  } message; lower is better`;
  const body: string[] = [];
  let y = MARGIN.top;
  for (const [label, values] of groups) {
    body.push(
      `<text x="${left - 8}" y="${y + (names.length * bar) / 2 + 4}" text-anchor="end">${
        esc(label)
      }</text>`,
    );
    names.forEach((name, i) => {
      const value = values.get(name);
      if (value === undefined) return;
      const top = y + i * bar;
      body.push(
        `<rect x="${left}" y="${top}" width="${(px(value) - left).toFixed(1)}" height="${
          bar - 2
        }" fill="${COLORS[name]}"/>`,
        `<text x="${px(value) + 4}" y="${top + bar - 3}" font-size="10">${fmt(value)}</text>`,
      );
    });
    y += groupHeight;
  }
  for (let x = 0; x <= xs.top; x += xs.step) {
    body.push(
      `<line x1="${px(x)}" x2="${px(x)}" y1="${MARGIN.top - 6}" y2="${y}" stroke="#e5e5e5"/>`,
      `<text x="${px(x)}" y="${y + 16}" text-anchor="middle">${fmt(x)}</text>`,
    );
  }
  body.push(
    `<text x="${left + w / 2}" y="${y + 36}" text-anchor="middle">${esc(axisLabel)}</text>`,
    ...legend(names),
  );
  const title = per === "delivery"
    ? "CPU per delivery (fan-out)"
    : "CPU per inbound message (chat)";
  return frame(`${title}, side by side`, body).replace(
    `height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}"`,
    `height="${height}" viewBox="0 0 ${WIDTH} ${height}"`,
  ).replace(
    `<rect width="${WIDTH}" height="${HEIGHT}"`,
    `<rect width="${WIDTH}" height="${height}"`,
  );
}

/** Every chart for a run: file name → SVG. */
export function charts(run: { rows: Row[]; raw: Results }): Map<string, string> {
  const out = new Map<string, string>();
  for (const scenario of Object.keys(TITLES)) {
    const svg = latencyChart(run.raw, scenario);
    if (svg) out.set(`latency-${scenario}.svg`, svg);
  }
  for (const per of ["delivery", "inbound"] as const) {
    const cpu = cpuChart(run.rows, per);
    if (cpu) out.set(`cpu-per-${per}.svg`, cpu);
  }
  return out;
}

/** Writes the charts of `run` into `dir`; returns the files written. */
export async function writeCharts(
  run: { rows: Row[]; raw: Results },
  dir: string,
): Promise<string[]> {
  await Deno.mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, svg] of charts(run)) {
    const path = `${dir}/${name}`;
    await Deno.writeTextFile(path, svg);
    written.push(path);
  }
  return written;
}
