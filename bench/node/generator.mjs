// The load generator used for every server of `deno task bench`: raw WebSockets speaking
// Engine.IO v4 / Socket.IO v5 frames directly ("sio"), plain frames for the bare ceiling
// server ("raw"), or a raw-WebSocket face's JSON frames ("json": inbox, lounge), built from the
// frame text each client spec gives (see bench/servers/ours.ts). One process, one clock: each
// message carries its intended send time (`#T<µs>#` inside its text), so a delivery's latency is
// measured against when it should have left, not when a busy generator got round to it (no
// coordinated omission).
//
//   node node/generator.mjs '<json task>'   (see bench/run.ts for the tasks it is given)
//
// Prints one JSON line with the results on stdout; progress goes to stderr.
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { openWebSocket } from "./wsclient.mjs";

const task = JSON.parse(process.argv[2] ?? "{}");
const MARK = Buffer.from("#T");
// "json": who sent a message (`#S<client index>` before its stamp); the sender's own copy is
// its acknowledgement, as the faces send no ack of their own.
const SENDER = Buffer.from("#S");
const ERROR = Buffer.from('"type":"error"');
const nowUs = () => performance.now() * 1000;
const log = (...args) => console.error("[gen]", ...args);

// ---------------------------------------------------------------- server measurements

/** The measured processes: the server, or every node of a cluster and its Redis. */
const serverPids = task.serverPids ?? [task.serverPid];

/** utime + stime of every measured process in ms. */
function serverCpuMs() {
  return serverPids.reduce((sum, pid) => sum + cpuMsOf(pid), 0);
}

function serverRss() {
  return serverPids.reduce((sum, pid) => sum + rssOf(pid), 0);
}

/** utime + stime of a process in ms, from /proc (all its threads). */
function cpuMsOf(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms
}

function rssOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb * 1024;
}

async function serverStats() {
  const res = await fetch(`${task.statsUrl}?gc=1`);
  return await res.json();
}

// ---------------------------------------------------------------- clients

/** Who connects: from a file the server wrote (auth + room each), or rooms × perRoom. */
function clientSpecs() {
  if (task.clientsFile) {
    return JSON.parse(readFileSync(task.clientsFile, "utf8"));
  }
  const specs = [];
  for (let r = 0; r < task.rooms; r++) {
    for (let i = 0; i < task.perRoom; i++) {
      const user = specs.length + 1;
      specs.push({ auth: { room: `r${r}`, user }, room: `r${r}` });
    }
  }
  return specs;
}

let measuring; // the step being measured, or undefined
const totals = { acked: 0, ackErrors: 0, connectErrors: 0, closedEarly: 0 };

function stampOf(buf, from, to) {
  const at = buf.indexOf(MARK, from);
  if (at < 0 || at >= to) return -1;
  let v = 0;
  for (let j = at + 2; j < to; j++) {
    const c = buf[j];
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
  }
  return v;
}

/** The client index after `#S`, or -1. Searched within the frame only: most frames lack it. */
function senderOf(buf, from, to) {
  const within = buf.subarray(from, to).indexOf(SENDER);
  if (within < 0) return -1;
  const at = from + within;
  let v = 0;
  let j = at + 2;
  for (; j < to; j++) {
    const c = buf[j];
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
  }
  return j === at + 2 ? -1 : v;
}

function delivered(buf, from, to) {
  const step = measuring;
  if (step === undefined) return;
  const t = stampOf(buf, from, to);
  if (t < step.winStart || t >= step.winEnd) return;
  const latency = nowUs() - t;
  if (step.count < step.samples.length) step.samples[step.count] = latency;
  step.count++;
}

class Client {
  constructor(spec, index) {
    this.spec = spec;
    this.index = index;
    this.room = spec.room;
    // A cluster: clients alternate between its nodes, so each room has members on every node.
    this.url = task.urls ? task.urls[index % task.urls.length] : task.url;
    this.nextAck = 0;
    this.connected = false;
    this.pendingAcks = 0;
  }

  /** Resolves when the Socket.IO CONNECT is answered (or, raw, when the socket opens). */
  connect() {
    const raw = task.protocol === "raw";
    const json = task.protocol === "json";
    const url = raw
      ? `${this.url}/?room=${encodeURIComponent(this.room)}`
      : json
      ? `${this.url}${this.spec.path}`
      : `${this.url}/socket.io/?EIO=4&transport=websocket`;
    const started = nowUs();
    return new Promise((resolve) => {
      let settled = false;
      const done = (ok, why) => {
        if (settled) return;
        settled = true;
        if (!ok) {
          totals.connectErrors++;
          if (totals.connectErrors <= 3) log("connect failed:", why);
        }
        this.connected = ok;
        this.handshakeUs = nowUs() - started;
        resolve(ok);
      };
      const auth = JSON.stringify(this.spec.auth);
      const onJson = (buf, from, to) => {
        const sender = senderOf(buf, from, to);
        if (sender < 0) {
          if (buf.subarray(from, to).indexOf(ERROR) >= 0) {
            // A refused message: answered, not acked (no row is expected for it).
            if (this.pendingAcks > 0) this.pendingAcks--;
            totals.ackErrors++;
            if (totals.ackErrors <= 3) log("error frame:", buf.toString("utf8", from, to));
          }
          return; // presence and other frames of the face
        }
        if (sender === this.index) {
          this.pendingAcks--;
          totals.acked++;
        }
        delivered(buf, from, to);
      };
      const onOpenJson = () => {
        // Lounge names its user in a first frame; its later frames wait for it server-side.
        if (this.spec.init) this.ws.send(this.spec.init);
        done(true);
      };
      const onText = raw ? delivered : json ? onJson : (buf, from, to) => {
        const c0 = buf[from];
        if (c0 === 0x34 /* 4 */) {
          const c1 = buf[from + 1];
          if (c1 === 0x32 /* 2: EVENT */) return delivered(buf, from, to);
          if (c1 === 0x33 /* 3: ACK */) {
            this.pendingAcks--;
            totals.acked++;
            const error = buf.indexOf('"error"', from);
            if (error >= 0 && error < to) totals.ackErrors++;
            return;
          }
          if (c1 === 0x30 /* 0: CONNECT */) return done(true);
          if (c1 === 0x34 /* 4: CONNECT_ERROR */) {
            return done(false, buf.toString("utf8", from, to));
          }
        } else if (c0 === 0x32 /* 2: ping */) {
          this.ws.send("3");
        } else if (c0 === 0x30 /* 0: open */) {
          this.ws.send(`40${auth}`);
        }
      };
      this.ws = openWebSocket(url, {
        onOpen: raw ? () => done(true) : json ? onOpenJson : undefined,
        onText,
        onClose: (why) => {
          if (this.connected && !this.closing) {
            totals.closedEarly++;
            if (totals.closedEarly <= 3) log("closed by the server:", why);
          }
          this.connected = false;
          done(false, why);
        },
      });
    });
  }

  publish(text, ack) {
    if (!this.connected) return;
    if (task.protocol === "raw") return this.ws.send(text);
    if (task.protocol === "json") {
      if (ack) this.pendingAcks++;
      return this.ws.send(`${this.spec.before}#S${this.index}${text}${this.spec.after}`);
    }
    const data = `["message",{"room":${JSON.stringify(this.room)},"text":"${text}"}]`;
    if (ack) {
      this.pendingAcks++;
      this.ws.send(`42${this.nextAck++}${data}`);
    } else {
      this.ws.send(`42${data}`);
    }
  }

  close() {
    this.closing = true;
    this.ws?.close();
  }
}

async function connectAll(clients, concurrency) {
  let next = 0;
  async function worker() {
    while (next < clients.length) await clients[next++].connect();
  }
  await Promise.all(
    Array.from({ length: Math.min(concurrency, clients.length) }, worker),
  );
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1);
  return sorted[Math.max(0, i)] / 1000;
}

const round3 = (v) => v === null ? null : Math.round(v * 1000) / 1000;

// ---------------------------------------------------------------- tasks

/** Offers `rate` inbound messages/s, open-loop, for warm-up + window; measures the window. */
async function runStep(publishers, step) {
  const padding = "x".repeat(Math.max(0, task.textBytes - 14));
  const interval = 1e6 / step.rate;
  const start = nowUs() + 2000;
  const winStart = start + step.warmupMs * 1000;
  const winEnd = winStart + step.windowMs * 1000;
  const total = Math.ceil((winEnd - start) / interval);
  // Every message reaches its whole room, sender included.
  const expectedPerMsg = task.recipients;
  const capacity = Math.ceil(step.rate * (step.windowMs / 1000) * expectedPerMsg * 1.05) +
    1024;
  const state = {
    winStart,
    winEnd,
    samples: new Float64Array(capacity),
    count: 0,
  };
  let sent = 0;
  let inWindow = 0;
  let cpuAtStart, genAtStart, wallAtStart;
  measuring = state;
  while (sent < total) {
    const now = nowUs();
    while (sent < total && start + sent * interval <= now) {
      const t = Math.round(start + sent * interval);
      if (t >= winStart && cpuAtStart === undefined) {
        cpuAtStart = serverCpuMs();
        genAtStart = process.cpuUsage();
        wallAtStart = nowUs();
      }
      const from = publishers[sent % publishers.length];
      from.publish(`#T${t}#${padding}`, task.ack);
      if (t >= winStart && t < winEnd) inWindow++;
      sent++;
    }
    await sleep(1);
  }
  const genCpu = process.cpuUsage(genAtStart);
  const wall = nowUs() - wallAtStart;
  const expected = inWindow * expectedPerMsg;
  // Drain: wait for the window's deliveries, up to drainMs without any progress.
  let last = state.count;
  let quietSince = nowUs();
  while (state.count < expected) {
    await sleep(5);
    if (state.count !== last) {
      last = state.count;
      quietSince = nowUs();
    } else if (nowUs() - quietSince > task.drainMs * 1000) break;
  }
  const cpuMs = serverCpuMs() - cpuAtStart;
  measuring = undefined;
  const n = Math.min(state.count, state.samples.length);
  const sorted = state.samples.subarray(0, n).sort();
  const genCpuPct = ((genCpu.user + genCpu.system) / wall) * 100;
  return {
    rate: step.rate,
    offeredDeliveriesPerSec: step.rate * expectedPerMsg,
    windowMs: step.windowMs,
    sent: inWindow,
    expected,
    delivered: state.count,
    lost: Math.max(0, expected - state.count),
    p50: round3(percentile(sorted, 0.5)),
    p99: round3(percentile(sorted, 0.99)),
    p999: round3(percentile(sorted, 0.999)),
    max: round3(n ? sorted[n - 1] / 1000 : null),
    serverCpuMs: cpuMs,
    cpuUsPerDelivery: state.count ? round3((cpuMs * 1000) / state.count) : null,
    cpuUsPerInbound: inWindow ? round3((cpuMs * 1000) / inWindow) : null,
    genCpuPct: Math.round(genCpuPct * 10) / 10,
    serverRssMb: Math.round(serverRss() / 104857.6) / 10,
    closedEarly: totals.closedEarly,
  };
}

function passes(step) {
  return step.lost === 0 && step.closedEarly === 0 && step.p99 !== null &&
    step.p99 <= task.p99LimitMs;
}

async function rateTask() {
  const clients = clientSpecs().map((spec, i) => new Client(spec, i));
  const t0 = nowUs();
  await connectAll(clients, task.connectConcurrency ?? 256);
  log(`${clients.length} connected in ${Math.round((nowUs() - t0) / 1000)} ms`);
  if (totals.connectErrors > 0) {
    throw new Error(`${totals.connectErrors} clients failed`);
  }
  const publishers = task.publishers === "first" ? [clients[0]] : clients;
  if (task.prime) {
    // Each client says something once (the desk face subscribes a socket to a group room on
    // its first message there; lounge's answer proves its init went through); then everyone is
    // in their room.
    const primed = nowUs();
    for (const c of clients) c.publish("#P#prime", true);
    const deadline = Date.now() + 30_000;
    while (clients.some((c) => c.pendingAcks > 0) && Date.now() < deadline) {
      await sleep(10);
    }
    const silent = clients.filter((c) => c.pendingAcks > 0).length;
    log(`primed in ${Math.round((nowUs() - primed) / 1000)} ms, ${silent} without an answer`);
  }
  // A client the server dropped before the first step would only show up as loss.
  const gone = clients.filter((c) => !c.connected).length;
  if (gone > 0) throw new Error(`${gone} clients were closed before the first step`);
  const fixed = [];
  for (const step of task.steps ?? []) {
    const result = await runStep(publishers, step);
    log(`rate ${step.rate}/s: p99 ${result.p99} ms, lost ${result.lost}`);
    fixed.push(result);
    await sleep(task.pauseMs);
  }
  const ramp = [];
  const limit = task.genCpuLimitPct;
  // The highest passing rate so far; the fixed points count too.
  let best = fixed.filter(passes).reduce(
    (b, r) => (!b || r.rate > b.rate ? r : b),
    undefined,
  );
  let stoppedBy = "max";
  const step = async (rate) => {
    const result = await runStep(publishers, { ...task.ramp, rate });
    ramp.push(result);
    log(
      `ramp ${rate}/s: p99 ${result.p99} ms, lost ${result.lost}, gen ${result.genCpuPct}%`,
    );
    await sleep(task.pauseMs);
    return result;
  };
  if (task.ramp) {
    let failedAt;
    for (
      let rate = task.ramp.from;
      rate <= task.ramp.max;
      rate = Math.round(rate * task.ramp.factor)
    ) {
      const result = await step(rate);
      const generatorBound = result.genCpuPct >= limit;
      if (!passes(result)) {
        failedAt = rate;
        stoppedBy = generatorBound ? "generator" : "server";
        break;
      }
      best = result;
      if (generatorBound) {
        stoppedBy = "generator";
        break;
      }
    }
    // Narrow the last gap, so the figure is not just one of the ramp's coarse steps.
    let low = best?.rate ?? 0;
    let high = failedAt;
    for (
      let i = 0;
      stoppedBy === "server" && i < (task.ramp.refine ?? 2);
      i++
    ) {
      if (high - low <= low * 0.05) break;
      const mid = Math.round((low + high) / 2);
      const result = await step(mid);
      if (!passes(result)) {
        high = mid;
        continue;
      }
      best = result;
      low = mid;
      if (result.genCpuPct >= limit) stoppedBy = "generator";
    }
  }
  // Every ack still on its way counts: rows committed are compared with messages acked.
  const deadline = Date.now() + 10_000;
  while (clients.some((c) => c.pendingAcks > 0) && Date.now() < deadline) {
    await sleep(10);
  }
  for (const c of clients) c.close();
  return {
    clients: clients.length,
    fixed,
    ramp,
    maxRate: best?.rate ?? 0,
    rampStoppedBy: stoppedBy,
    acked: totals.acked,
    ackErrors: totals.ackErrors,
  };
}

/** Connects `count` clients and reports the server's memory before and after. */
async function idleTask() {
  const before = await serverStats();
  const rssBefore = serverRss();
  const clients = clientSpecs().map((spec, i) => new Client(spec, i));
  await connectAll(clients, task.connectConcurrency ?? 256);
  await sleep(task.settleMs);
  const after = await serverStats();
  const rssAfter = serverRss();
  const connected = clients.filter((c) => c.connected).length;
  for (const c of clients) c.close();
  return {
    clients: clients.length,
    connected,
    errors: totals.connectErrors,
    rssBefore,
    rssAfter,
    rssPerConnection: Math.round(
      (rssAfter - rssBefore) / Math.max(1, connected),
    ),
    heapBefore: before.heapUsed,
    heapAfter: after.heapUsed,
    heapPerConnection: Math.round(
      (after.heapUsed - before.heapUsed) / Math.max(1, connected),
    ),
  };
}

/** Opens every connection at once; how long until all are in, and each handshake's time. */
async function stormTask() {
  const clients = clientSpecs().map((spec, i) => new Client(spec, i));
  const cpuBefore = serverCpuMs();
  const genBefore = process.cpuUsage();
  const t0 = nowUs();
  const results = await Promise.all(clients.map((c) => c.connect()));
  const totalMs = (nowUs() - t0) / 1000;
  const cpuMs = serverCpuMs() - cpuBefore;
  const gen = process.cpuUsage(genBefore);
  const times = Float64Array.from(
    clients.filter((c) => c.connected),
    (c) => c.handshakeUs,
  )
    .sort();
  for (const c of clients) c.close();
  const ok = results.filter(Boolean).length;
  return {
    clients: clients.length,
    connected: ok,
    errors: clients.length - ok,
    totalMs: round3(totalMs),
    handshakesPerSec: Math.round(ok / (totalMs / 1000)),
    p50: round3(percentile(times, 0.5)),
    p99: round3(percentile(times, 0.99)),
    serverCpuMs: cpuMs,
    genCpuPct: Math.round((gen.user + gen.system) / totalMs) / 10,
  };
}

const tasks = { rate: rateTask, idle: idleTask, storm: stormTask };
try {
  const result = await tasks[task.task]();
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(0);
} catch (err) {
  log("failed:", err?.stack ?? err);
  process.stdout.write(
    JSON.stringify({ error: String(err?.message ?? err) }) + "\n",
  );
  process.exit(1);
}
