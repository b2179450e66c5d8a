// Our side of the benchmark, started by bench/run.ts as
//   deno run -A bench/servers/ours.ts '{"mode":"broadcast"}'
//   deno run -A bench/servers/ours.ts '{"mode":"persisted","dir":"<dir>","rooms":100,"perRoom":10}'
// `broadcast` runs the same application as bench/node/reference.mjs on our Socket.IO server
// (with `"redis":"<url>"`, as one node of a cluster through our redisAdapter()).
// `persisted` runs the whole service (startServer: config, libSQL, hub, desk face) and seeds
// users, group rooms and access tokens for the load generator; messages then take the desk
// face's real path (validate, check membership, commit, publish, render once, ack).
// Prints one JSON line with its port (and where the seeded clients are) once it listens.
import { startServer } from "@/main.ts";
import { redisAdapter, SocketServer } from "@/realtime/socketio/mod.ts";
import { memoryStats } from "./stats.ts";
import { createBenchDatabase } from "../lib/postgres.ts";

interface Options {
  mode?: "broadcast" | "persisted";
  dir?: string;
  rooms?: number;
  perRoom?: number;
  /** SQLite's synchronous setting: "normal" (WAL default) or "full" (fsync every commit). */
  sync?: "normal" | "full";
  /** Cluster scenarios: a node of several sharing this Redis through redisAdapter(). */
  redis?: string;
  /** The database: a libSQL file under `dir` (default), or a fresh PostgreSQL database. */
  database?: "libsql" | "postgres";
}

const options: Options = JSON.parse(Deno.args[0] ?? "{}");

function stats(url: URL): Response {
  return Response.json(memoryStats(url.searchParams.get("gc") === "1"));
}

async function broadcast(): Promise<void> {
  const io = new SocketServer({
    serveClient: false,
    adapter: options.redis ? redisAdapter({ url: options.redis }) : undefined,
  });
  io.on("connection", (socket) => {
    const room = String(socket.handshake.auth.room);
    socket.join(room);
    socket.on("message", (data: unknown, ack?: unknown) => {
      io.to(room).emit("message", data);
      if (typeof ack === "function") ack({ ok: true });
    });
  });
  const handler = io.handler();
  const listening = Promise.withResolvers<Deno.NetAddr>();
  Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: listening.resolve }, (req, info) => {
    const url = new URL(req.url);
    return url.pathname === "/bench/stats" ? stats(url) : handler(req, info);
  });
  const { port } = await listening.promise;
  console.log(JSON.stringify({ port, pid: Deno.pid }));
}

async function persisted(): Promise<void> {
  const dir = options.dir ?? await Deno.makeTempDir({ prefix: "chat-bench-" });
  // bench/run.ts counts the rows and drops a PostgreSQL database after the server stopped.
  const db = options.database === "postgres" ? await createBenchDatabase() : `${dir}/chat.db`;
  const running = await startServer({
    env: {
      HOST: "127.0.0.1",
      PORT: "0",
      DATA_DIR: dir,
      DATABASE_URL: db.startsWith("postgres") ? db : `file:${db}`,
      DATABASE_SYNC: options.sync ?? "normal",
      LOG_LEVEL: "warn",
      // Seeding only: a thousand accounts at the production cost would take minutes.
      PASSWORD_ITERATIONS: "1000",
      // The reference server has no rate limits; ours are lifted so that both do the same work.
      SEND_RATE: "1000000",
      SEND_BURST: "1000000",
      SOCKET_FRAME_RATE: "1000000",
      SOCKET_FRAME_BURST: "1000000",
      // Every generated client comes from one address, all at once.
      SOCKETIO_MAX_PENDING_PER_ADDRESS: "100000",
    },
  });
  const { core } = running;
  const rooms = options.rooms ?? 100;
  const perRoom = options.perRoom ?? 10;
  const clients: { auth: { access_token: string }; room: number }[] = [];
  for (let r = 0; r < rooms; r++) {
    const ids: number[] = [];
    for (let i = 0; i < perRoom; i++) {
      const user = await core.accounts.create({
        username: `bench${r}_${i}`,
        password: `not-${crypto.randomUUID()}`,
      });
      ids.push(user.id);
    }
    const room = await core.rooms.createGroup({
      creatorId: ids[0],
      name: `bench room ${r}`,
      roomType: "chat",
    });
    for (const id of ids.slice(1)) await core.rooms.addMember(room.id, id);
    for (const id of ids) {
      const pair = await core.tokens.issue(id);
      clients.push({ auth: { access_token: pair.access }, room: room.id });
    }
  }
  const clientsFile = `${dir}/clients.json`;
  await Deno.writeTextFile(clientsFile, JSON.stringify(clients));
  // The service has no stats route; a second listener answers for the benchmark.
  const listening = Promise.withResolvers<Deno.NetAddr>();
  Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: listening.resolve }, (req) => {
    return stats(new URL(req.url));
  });
  const statsPort = (await listening.promise).port;
  console.log(JSON.stringify({
    port: running.port,
    statsPort,
    pid: Deno.pid,
    clientsFile,
    db,
  }));
}

if (options.mode === "persisted") await persisted();
else await broadcast();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => Deno.exit(0));
}
