// Our side of the benchmark, started by bench/run.ts as
//   deno run -A bench/servers/ours.ts '{"mode":"broadcast"}'
//   deno run -A bench/servers/ours.ts '{"mode":"persisted","dir":"<dir>","rooms":100,"perRoom":10}'
// `broadcast` runs the same application as bench/node/reference.mjs on our Socket.IO server
// (with `"redis":"<url>"`, as one node of a cluster through our redisAdapter()).
// `persisted` runs the whole service (startServer: config, libSQL, hub, every face) and seeds
// users, rooms and access tokens for the load generator, for one face (`"face"`): desk (Socket.IO,
// group rooms), inbox (raw WebSocket /ws/{username}/, conversations of two people) or lounge
// (raw WebSocket /socket, group chats). Messages then take that face's real path (authenticate,
// validate, check membership, commit, publish, render once, deliver; ack or echo).
// Prints one JSON line with its port (and where the seeded clients are) once it listens.
import { startServer } from "@/main.ts";
import type { Core } from "@/lib/core.ts";
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
  /** Persisted: the face whose path the generated clients take. */
  face?: "desk" | "inbox" | "lounge";
}

/**
 * One generated client. Desk: Socket.IO `auth` and its room. Raw faces: the URL path it opens,
 * the frame it sends first (lounge's init), and each message frame as the JSON before and after
 * the text (`before + text + after`), so the generator builds frames without a JSON encoder.
 */
type ClientSpec =
  | { auth: { access_token: string }; room: number }
  | { path: string; init?: string; before: string; after: string; room: number };

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
      SOCKET_INBOUND_QUEUE: "100000",
      // Every generated client comes from one address, all at once.
      SOCKETIO_MAX_PENDING_PER_ADDRESS: "100000",
      // A thousand lounge sockets initialising at once (each announced to all the others) take
      // longer than the default 10 s on one core; a timed-out one would sit out the run.
      LOUNGE_INIT_TIMEOUT: "300s",
    },
  });
  const clients = await seed(running.core, options.face ?? "desk");
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

/** Users, rooms and tokens for `face`: rooms × perRoom clients, every room's clients talking. */
async function seed(core: Core, face: "desk" | "inbox" | "lounge"): Promise<ClientSpec[]> {
  const rooms = options.rooms ?? 100;
  const perRoom = options.perRoom ?? 10;
  const clients: ClientSpec[] = [];
  const user = async (name: string) => {
    const created = await core.accounts.create({
      username: name,
      password: `not-${crypto.randomUUID()}`,
    });
    return { ...created, token: (await core.tokens.issue(created.id)).access };
  };
  for (let r = 0; r < rooms; r++) {
    if (face === "inbox") {
      // A conversation is two people: each opens perRoom / 2 tabs of it, every tab hears all.
      const a = await user(`bench${r}_a`);
      const b = await user(`bench${r}_b`);
      const room = await core.rooms.direct(a.id, b.id);
      for (let i = 0; i < perRoom; i++) {
        const [me, other] = i % 2 === 0 ? [a, b] : [b, a];
        clients.push({
          path: `/ws/${other.username}/?token=${me.token}`,
          before: '{"type":"chat_message","message":"',
          after: '"}',
          room: room.id,
        });
      }
      continue;
    }
    const members = [];
    for (let i = 0; i < perRoom; i++) members.push(await user(`bench${r}_${i}`));
    const room = await core.rooms.createGroup({
      creatorId: members[0].id,
      name: `bench room ${r}`,
      roomType: "chat",
    });
    for (const m of members.slice(1)) await core.rooms.addMember(room.id, m.id);
    for (const m of members) {
      clients.push(
        face === "lounge"
          ? {
            path: "/socket",
            init: JSON.stringify({ token: m.token }),
            // Lounge carries the token in every frame (checked with each; the same one is
            // remembered until it expires).
            before: `{"token":"${m.token}","chat_type":"group","chat_group_id":${room.id},` +
              '"message":"',
            after: '"}',
            room: room.id,
          }
          : { auth: { access_token: m.token }, room: room.id },
      );
    }
  }
  return clients;
}

if (options.mode === "persisted") await persisted();
else await broadcast();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => Deno.exit(0));
}
