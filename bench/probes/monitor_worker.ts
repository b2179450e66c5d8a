/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
// The monitor's worker (see Monitor in service.ts): reads /proc/<pid>/status every
// `rssEveryMs` and, with `health`, times GET /healthz every `healthEveryMs`, one at a time.

interface Start {
  type: "start";
  pid: number;
  url: string;
  health: boolean;
  rssEveryMs: number;
  healthEveryMs: number;
}

let running = false;
let timer: ReturnType<typeof setInterval> | undefined;
const rss: number[] = [];
const latencies: number[] = [];
let failures = 0;
let inFlightSince: number | undefined;
let abort: AbortController | undefined;
let loopDone: Promise<void> = Promise.resolve();

function readRss(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

async function healthLoop(url: string, everyMs: number): Promise<void> {
  while (running) {
    const t0 = performance.now();
    inFlightSince = t0;
    abort = new AbortController();
    try {
      const res = await fetch(`${url}/healthz`, { signal: abort.signal });
      await res.arrayBuffer();
      if (!res.ok) failures++;
      latencies.push(performance.now() - t0);
    } catch {
      if (running) {
        failures++;
        latencies.push(performance.now() - t0);
      }
    }
    inFlightSince = undefined;
    const wait = everyMs - (performance.now() - t0);
    if (running && wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024 * 10) / 10;
const ms = (n: number) => Math.round(n * 10) / 10;

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

self.onmessage = async (event: MessageEvent<Start | { type: "stop" }>) => {
  const msg = event.data;
  if (msg.type === "start") {
    running = true;
    const sample = () => {
      const v = readRss(msg.pid);
      if (!Number.isNaN(v)) rss.push(v);
    };
    sample();
    timer = setInterval(sample, msg.rssEveryMs);
    if (msg.health) loopDone = healthLoop(msg.url, msg.healthEveryMs);
    self.postMessage({ type: "started" });
    return;
  }
  running = false;
  clearInterval(timer);
  const pending = inFlightSince === undefined ? undefined : performance.now() - inFlightSince;
  abort?.abort();
  await loopDone;
  const sorted = [...latencies].sort((a, b) => a - b);
  const summary: Record<string, number> = {
    rss_min_mb: mb(Math.min(...rss)),
    rss_max_mb: mb(Math.max(...rss)),
    rss_last_mb: mb(rss[rss.length - 1] ?? NaN),
    rss_samples: rss.length,
  };
  if (latencies.length > 0 || pending !== undefined || failures > 0) {
    summary.health_samples = latencies.length;
    summary.health_max_ms = ms(Math.max(sorted[sorted.length - 1] ?? 0, pending ?? 0));
    summary.health_p50_ms = ms(quantile(sorted, 0.5));
    summary.health_p99_ms = ms(quantile(sorted, 0.99));
    summary.health_failures = failures;
    if (pending !== undefined) summary.health_pending_ms = ms(pending);
  }
  self.postMessage({ type: "summary", summary });
};
