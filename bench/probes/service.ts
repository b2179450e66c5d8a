// The service under probe: `deno run -A main.ts` as a child process on a free port over a temp
// data directory, its log lines counted, its RSS and CPU read from /proc/<pid>. Only the
// process boundary is used: HTTP, sockets and /proc; nothing of the service is imported.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (bench/probes/ → ../..). */
export const REPO = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

let clockTicks: number | undefined;

/** `getconf CLK_TCK` (100 on Linux almost everywhere). */
export function clkTck(): number {
  if (clockTicks === undefined) {
    try {
      const out = new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped" }).outputSync();
      clockTicks = Number(new TextDecoder().decode(out.stdout).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Resident set size of `pid` in bytes (VmRSS), NaN when the process is gone. */
export function rssBytes(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** User + system CPU seconds `pid` (all its threads) has used, NaN when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after "(comm)": state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(rest[11]) + Number(rest[12])) / clkTck();
  } catch {
    return NaN;
  }
}

export const mb = (bytes: number) => Math.round(bytes / 1024 / 1024 * 10) / 10;
export const round = (n: number, digits = 1) => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};

export interface ServiceOptions {
  /** Extra or overriding environment; `undefined` removes a variable (e.g. PASSWORD_ITERATIONS). */
  env?: Record<string, string | undefined>;
  /** Reuse this data directory (a restart over the same database); default a new temp dir. */
  dir?: string;
}

/** Waits until `pid` uses (almost) no CPU for `quietMs`; returns the CPU seconds at that point. */
export async function waitIdle(
  pid: number,
  { quietMs = 500, maxMs = 20_000, stepMs = 100 } = {},
): Promise<{ cpu: number; waitedMs: number }> {
  const start = performance.now();
  let last = cpuSeconds(pid);
  let quietSince = performance.now();
  while (performance.now() - start < maxMs) {
    await delay(stepMs);
    const now = cpuSeconds(pid);
    // One clock tick (10 ms) per step is idle noise (timers, heartbeats).
    if (now - last > 1.5 / clkTck()) quietSince = performance.now();
    last = now;
    if (performance.now() - quietSince >= quietMs) break;
  }
  return { cpu: last, waitedMs: Math.round(performance.now() - start) };
}

const running = new Set<Service>();

/** Stops every service still running (on exit, timeouts and errors). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop()));
}

export class Service {
  readonly url: string;
  #lines = 0;
  #bytes = 0;
  #tail: string[] = [];
  #stopped = false;
  #ownsDir: boolean;

  private constructor(
    readonly child: Deno.ChildProcess,
    readonly port: number,
    readonly dir: string,
    readonly env: Record<string, string>,
    ownsDir: boolean,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.#ownsDir = ownsDir;
    this.#count(child.stdout);
    this.#count(child.stderr);
  }

  get pid(): number {
    return this.child.pid;
  }

  get dbPath(): string {
    return join(this.dir, "chat.db");
  }

  /** Log lines (stdout + stderr) the process has written so far. */
  get logLines(): number {
    return this.#lines;
  }

  get logBytes(): number {
    return this.#bytes;
  }

  tail(): string[] {
    return [...this.#tail];
  }

  rss(): number {
    return rssBytes(this.pid);
  }

  cpu(): number {
    return cpuSeconds(this.pid);
  }

  async #count(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let partial = "";
    try {
      for await (const chunk of stream) {
        this.#bytes += chunk.byteLength;
        for (const byte of chunk) if (byte === 10) this.#lines++;
        partial += decoder.decode(chunk, { stream: true });
        const parts = partial.split("\n");
        partial = parts.pop() ?? "";
        if (partial.length > 4096) partial = partial.slice(0, 4096);
        for (const line of parts.slice(-20)) {
          this.#tail.push(line.length > 500 ? line.slice(0, 500) + "…" : line);
        }
        if (this.#tail.length > 20) this.#tail.splice(0, this.#tail.length - 20);
      }
    } catch {
      // The process ended.
    }
  }

  static async start(opts: ServiceOptions = {}): Promise<Service> {
    const ownsDir = opts.dir === undefined;
    const dir = opts.dir ?? await Deno.makeTempDir({ prefix: "chat-probe-" });
    const port = freePort();
    const env: Record<string, string> = {};
    for (const key of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME", "TMPDIR", "NO_COLOR"]) {
      const value = Deno.env.get(key);
      if (value !== undefined) env[key] = value;
    }
    Object.assign(env, {
      HOST: "127.0.0.1",
      PORT: String(port),
      DATA_DIR: dir,
      DATABASE_URL: `file:${join(dir, "chat.db")}`,
      LOG_LEVEL: "warn",
      PASSWORD_ITERATIONS: "1000",
    });
    // PROBE_ENV_<NAME>=<value> in the probe's own environment sets <NAME> for every server.
    for (const [key, value] of Object.entries(Deno.env.toObject())) {
      if (key.startsWith("PROBE_ENV_")) env[key.slice("PROBE_ENV_".length)] = value;
    }
    for (const [key, value] of Object.entries(opts.env ?? {})) {
      if (value === undefined) delete env[key];
      else env[key] = value;
    }
    // Always this process's own port and directory, also when `opts.env` is an older env.
    Object.assign(env, { HOST: "127.0.0.1", PORT: String(port), DATA_DIR: dir });
    // The deno process itself is the child (no shell in between), so child.pid is main.ts's.
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "main.ts"],
      cwd: REPO,
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const service = new Service(child, port, dir, env, ownsDir);
    running.add(service);
    let exited = false;
    child.status.then(() => exited = true);
    const deadline = performance.now() + 60_000;
    while (true) {
      if (exited) {
        await service.stop();
        throw new Error(`the service exited before it listened: ${service.tail().join(" | ")}`);
      }
      try {
        const res = await fetch(`${service.url}/healthz`);
        await res.body?.cancel();
        if (res.ok) break;
      } catch {
        // Not listening yet.
      }
      if (performance.now() > deadline) {
        await service.stop();
        throw new Error("the service did not answer /healthz within 60 s");
      }
      await delay(100);
    }
    const cmdline = Deno.readTextFileSync(`/proc/${child.pid}/cmdline`).replaceAll("\0", " ");
    if (!cmdline.includes("main.ts")) throw new Error(`pid ${child.pid} runs ${cmdline}`);
    return service;
  }

  /** SIGTERM, SIGKILL after 5 s; removes the temp dir unless `keepDir`. */
  async stop(keepDir = false): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      try {
        this.child.kill("SIGTERM");
      } catch { /* already gone */ }
      const killer = setTimeout(() => {
        try {
          this.child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 5000);
      await this.child.status;
      clearTimeout(killer);
    }
    running.delete(this);
    if (this.#ownsDir && !keepDir) await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  /** A new process over the same data directory (the caller then owns the directory). */
  async restart(env: Record<string, string | undefined> = {}): Promise<Service> {
    await this.stop(true);
    const next = await Service.start({ dir: this.dir, env: { ...this.env, ...env } });
    next.#ownsDir = this.#ownsDir;
    return next;
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

// --- the monitor: RSS every 20 ms and /healthz every 50 ms, in a worker of its own -----------

export interface MonitorSummary {
  rss_min_mb: number;
  rss_max_mb: number;
  rss_last_mb: number;
  rss_samples: number;
  health_samples?: number;
  health_max_ms?: number;
  health_p50_ms?: number;
  health_p99_ms?: number;
  health_failures?: number;
  /** A /healthz request still unanswered when the monitor stopped: how long it had waited. */
  health_pending_ms?: number;
}

/**
 * Samples the service from a worker thread, so a busy probe (a flood loop) does not delay the
 * samples. `health` also times GET /healthz every 50 ms.
 */
export class Monitor {
  #worker: Worker;
  #ready: Promise<void>;

  private constructor(pid: number, url: string, health: boolean, rssEveryMs: number) {
    this.#worker = new Worker(new URL("./monitor_worker.ts", import.meta.url), { type: "module" });
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#ready = promise;
    this.#worker.onmessage = (event) => {
      if (event.data?.type === "started") resolve();
    };
    this.#worker.onerror = (event) => {
      event.preventDefault();
      reject(new Error(`monitor worker failed: ${event.message}`));
    };
    this.#worker.postMessage({ type: "start", pid, url, health, rssEveryMs, healthEveryMs: 50 });
  }

  static async start(
    service: Service,
    { health = false, rssEveryMs = 20 } = {},
  ): Promise<Monitor> {
    const monitor = new Monitor(service.pid, service.url, health, rssEveryMs);
    await monitor.#ready;
    return monitor;
  }

  stop(): Promise<MonitorSummary> {
    const { promise, resolve } = Promise.withResolvers<MonitorSummary>();
    this.#worker.onmessage = (event) => {
      if (event.data?.type === "summary") {
        this.#worker.terminate();
        resolve(event.data.summary);
      }
    };
    this.#worker.postMessage({ type: "stop" });
    return promise;
  }
}

/** The figures every probe under load reports: server memory and how /healthz held up. */
export function underLoad(monitor: MonitorSummary, rssBefore: number) {
  return {
    rss_before_mb: mb(rssBefore),
    rss_peak_mb: monitor.rss_max_mb,
    healthz_max_ms: monitor.health_max_ms,
    healthz_p50_ms: monitor.health_p50_ms,
    healthz_samples: monitor.health_samples,
  };
}

/** Runs `fn` while a monitor samples; the summary and what `fn` returned. */
export async function monitored<T>(
  service: Service,
  options: { health?: boolean },
  fn: () => Promise<T>,
): Promise<{ result: T; monitor: MonitorSummary }> {
  const monitor = await Monitor.start(service, options);
  try {
    const result = await fn();
    return { result, monitor: await monitor.stop() };
  } catch (err) {
    await monitor.stop();
    throw err;
  }
}
