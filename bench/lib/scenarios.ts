// The scenarios of the benchmark: which servers each runs against, how each server is
// started, and what the load generator is asked to do.
import { join } from "node:path";
import { BENCH_DIR, NODE_DIR, type ServerInfo } from "./processes.ts";

export type ServerKind = "ours" | "socketio" | "socketio-uws" | "ceiling" | "ceiling-tcp";

/** The references: socket.io@4 on Node's http + ws, and the same on uWebSockets.js. */
export const REFERENCES: ServerKind[] = ["socketio", "socketio-uws"];

export interface Settings {
  quick: boolean;
  rounds: number;
  /** Fixed-rate points: warm-up, then the measured window. */
  warmupMs: number;
  windowMs: number;
  /** Each step of a ramp. */
  rampWarmupMs: number;
  rampWindowMs: number;
  idleClients: number;
  stormClients: number;
}

export function settingsFor(quick: boolean, rounds?: number): Settings {
  return quick
    ? {
      quick,
      rounds: rounds ?? 1,
      warmupMs: 300,
      windowMs: 1000,
      rampWarmupMs: 200,
      rampWindowMs: 800,
      idleClients: 2000,
      stormClients: 1000,
    }
    : {
      quick,
      rounds: rounds ?? 3,
      warmupMs: 1000,
      windowMs: 3000,
      rampWarmupMs: 400,
      rampWindowMs: 1500,
      idleClients: 10_000,
      stormClients: 5000,
    };
}

export interface Scenario {
  name: string;
  title: string;
  servers: ServerKind[];
  /** The command that starts `kind` for this scenario (dir: a fresh scratch directory). */
  serverArgv(kind: ServerKind, dir: string): string[];
  /** The generator's task against a started server. */
  task(kind: ServerKind, info: ServerInfo): Record<string, unknown>;
  /** Persisted chat: rows the server committed, read after it stopped. */
  countRows?: boolean;
  /** Runs only when named with --only: an experiment, or a cluster in a quick run. */
  optional?: boolean;
  /**
   * A cluster: this many nodes of each server on one fresh Redis; serverArgv then gets its
   * URL and task gets every node, clients alternating between them.
   */
  nodes?: number;
  clusterTask?(kind: ServerKind, nodes: ServerInfo[], redisPid: number): Record<string, unknown>;
  clusterArgv?(kind: ServerKind, redisUrl: string): string[];
  /**
   * A face on the persisted path: its references are `persisted`'s (the same socket.io app);
   * they run here only when that scenario is not in the run.
   */
  referenceOf?: string;
}

const deno = Deno.execPath();
const oursScript = join(BENCH_DIR, "servers", "ours.ts");
const ceilingScript = join(BENCH_DIR, "servers", "ceiling.ts");
const ceilingTcpScript = join(BENCH_DIR, "servers", "ceiling_tcp.ts");
const referenceScript = join(NODE_DIR, "reference.mjs");

function serverArgv(kind: ServerKind, options: Record<string, unknown>): string[] {
  const json = JSON.stringify(options);
  switch (kind) {
    case "ours":
      return [deno, "run", "-A", "--v8-flags=--expose-gc", oursScript, json];
    case "socketio":
      return ["node", "--expose-gc", referenceScript, json];
    case "socketio-uws":
      return [
        "node",
        "--expose-gc",
        referenceScript,
        JSON.stringify({ ...options, engine: "uws" }),
      ];
    case "ceiling":
      return [deno, "run", "-A", "--v8-flags=--expose-gc", ceilingScript];
    case "ceiling-tcp":
      return [deno, "run", "-A", "--v8-flags=--expose-gc", ceilingTcpScript];
  }
}

function common(kind: ServerKind, info: ServerInfo) {
  return {
    url: `ws://127.0.0.1:${info.port}`,
    statsUrl: `http://127.0.0.1:${info.statsPort ?? info.port}/bench/stats`,
    serverPid: info.pid,
    protocol: kind.startsWith("ceiling") ? "raw" : "sio",
    drainMs: 2000,
    pauseMs: 300,
    p99LimitMs: 50,
    genCpuLimitPct: 70,
  };
}

export function scenarios(s: Settings): Scenario[] {
  const fixed = (rate: number) => ({ rate, warmupMs: s.warmupMs, windowMs: s.windowMs });
  const ramp = (from: number, max: number) => ({
    from,
    factor: 1.5,
    max,
    // Bisection steps after the first failing rate.
    refine: s.quick ? 1 : 2,
    warmupMs: s.rampWarmupMs,
    windowMs: s.rampWindowMs,
  });
  const chat = (name: string, rooms: number): Scenario => ({
    name,
    title: `Chat ${rooms}×10, every client publishing`,
    // The bare WebSocket: what the runtime's broadcast alone costs per inbound message.
    servers: ["ours", ...REFERENCES, "ceiling"],
    serverArgv: (kind) => serverArgv(kind, { mode: "broadcast" }),
    task: (kind, info) => ({
      ...common(kind, info),
      task: "rate",
      rooms,
      perRoom: 10,
      recipients: 10,
      publishers: "all",
      textBytes: 60,
      steps: [fixed(2000)],
      ramp: ramp(3000, 200_000),
    }),
  });
  const fanout = (name: string, servers: ServerKind[]): Scenario => ({
    name,
    title: "Fan-out: 1 room × 1,000 subscribers, ~100-byte event",
    servers,
    serverArgv: (kind) => serverArgv(kind, { mode: "broadcast" }),
    task: (kind, info) => ({
      ...common(kind, info),
      task: "rate",
      rooms: 1,
      perRoom: 1000,
      recipients: 1000,
      publishers: "first",
      textBytes: 60,
      // Rates are inbound messages/s: ×1,000 deliveries each.
      steps: [fixed(20), fixed(50)],
      ramp: ramp(75, 2000),
    }),
  });
  const persisted = (
    name: string,
    sync: "normal" | "full",
    database: "libsql" | "postgres" = "libsql",
    face: "desk" | "inbox" | "lounge" = "desk",
  ): Scenario => {
    // PostgreSQL's round trips (a send transaction at a time) take it well below libSQL's rates.
    const rate = database === "postgres" ? 250 : sync === "full" ? 1000 : 2000;
    return {
      name,
      title: database === "postgres"
        ? "Persisted chat 100×10 on PostgreSQL (ours only; measured): committed before broadcast and ack"
        : face !== "desk"
        ? `Persisted chat 100×10 on the ${face} face (raw WebSocket): committed before delivery`
        : `Persisted chat 100×10, synchronous=${sync.toUpperCase()}: committed before ` +
          "broadcast and ack",
      // The reference server has no PostgreSQL side: our figures are shown beside libSQL's.
      // FULL runs the one reference: the uWebSockets.js engine does not change an fsync.
      servers: database === "postgres"
        ? ["ours"]
        : sync === "full"
        ? ["ours", "socketio"]
        : ["ours", ...REFERENCES],
      referenceOf: face === "desk" ? undefined : "persisted",
      countRows: true,
      serverArgv: (kind, dir) =>
        kind === "ours"
          ? serverArgv(kind, {
            mode: "persisted",
            dir,
            rooms: 100,
            perRoom: 10,
            sync,
            database,
            face,
          })
          : serverArgv(kind, { mode: "persisted", db: join(dir, "reference.db"), sync }),
      task: (kind, info) => ({
        ...common(kind, info),
        // Inbox and lounge speak their own JSON frames over a raw WebSocket.
        ...(kind === "ours" && face !== "desk" ? { protocol: "json" } : {}),
        task: "rate",
        rooms: 100,
        perRoom: 10,
        recipients: 10,
        clientsFile: info.clientsFile,
        publishers: "all",
        textBytes: 60,
        ack: true,
        prime: true,
        steps: [fixed(rate)],
        ramp: ramp(rate * 1.5, 200_000),
      }),
    };
  };
  /**
   * Two nodes of each, one Redis: ours are two SocketServer library nodes with redisAdapter()
   * (the service's hub across nodes is another branch), socket.io's two Node servers with
   * @socket.io/redis-adapter. CPU is both nodes' and Redis's together, per delivery.
   */
  const cluster = (base: Scenario, title: string, steps: number[]): Scenario => ({
    ...base,
    name: `cluster-${base.name}`,
    title,
    servers: ["ours", "socketio"],
    nodes: 2,
    // Three more processes per run: a quick run leaves them out unless named with --only.
    optional: s.quick,
    clusterArgv: (kind, redisUrl) => serverArgv(kind, { mode: "broadcast", redis: redisUrl }),
    clusterTask: (kind, nodes, redisPid) => ({
      ...base.task(kind, nodes[0]),
      steps: steps.map(fixed),
      urls: nodes.map((n) => `ws://127.0.0.1:${n.port}`),
      serverPids: [...nodes.map((n) => n.pid), redisPid],
      statsUrl: `http://127.0.0.1:${nodes[0].port}/bench/stats`,
    }),
  });
  const chat100 = chat("chat100", 100);
  const fanoutAll = fanout("fanout", ["ours", ...REFERENCES, "ceiling"]);
  return [
    fanoutAll,
    chat100,
    chat("chat500", 500),
    // Lower fixed rates than on one node: two nodes and Redis share the servers' one core.
    cluster(
      fanoutAll,
      "Cluster fan-out: 2 nodes + Redis, 1 room × 1,000 (half on each node)",
      [5, 20],
    ),
    cluster(
      chat100,
      "Cluster chat 100×10: 2 nodes + Redis, each room's clients on both nodes",
      [500, 2000],
    ),
    persisted("persisted", "normal"),
    persisted("persisted-full", "full"),
    persisted("persisted-postgres", "normal", "postgres"),
    // The raw-WebSocket faces on the same path, against persisted's references.
    persisted("persisted-inbox", "normal", "libsql", "inbox"),
    persisted("persisted-lounge", "normal", "libsql", "lounge"),
    // Would a WebSocket layer of our own (frame bytes built once per broadcast) beat
    // Deno.upgradeWebSocket? Run with --only=fanout-tcp.
    { ...fanout("fanout-tcp", ["ceiling", "ceiling-tcp"]), optional: true },
    {
      name: "idle",
      title: `Idle: ${s.idleClients.toLocaleString("en")} connected clients, 10 per room`,
      servers: ["ours", ...REFERENCES, "ceiling"],
      serverArgv: (kind) => serverArgv(kind, { mode: "broadcast" }),
      task: (kind, info) => ({
        ...common(kind, info),
        task: "idle",
        rooms: s.idleClients / 10,
        perRoom: 10,
        settleMs: s.quick ? 1000 : 2000,
      }),
    },
    {
      name: "storm",
      title: `Reconnect storm: ${s.stormClients.toLocaleString("en")} clients at once`,
      servers: ["ours", ...REFERENCES],
      serverArgv: (kind) => serverArgv(kind, { mode: "broadcast" }),
      task: (kind, info) => ({
        ...common(kind, info),
        task: "storm",
        rooms: s.stormClients / 10,
        perRoom: 10,
      }),
    },
  ];
}
