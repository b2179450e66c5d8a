// The reference: the official socket.io@4 on Node with its default in-memory adapter, running
// the same application as bench/servers/ours.ts. Started by bench/run.ts as
//   node --expose-gc node/reference.mjs '{"mode":"broadcast"|"persisted","db":"<file>","sync":"normal"|"full"}'
// It prints one JSON line with its port once it listens.
import { createServer } from "node:http";
import { Server } from "socket.io";

const options = JSON.parse(process.argv[2] ?? "{}");
const mode = options.mode ?? "broadcast";

const http = createServer((req, res) => {
  if (req.url?.startsWith("/bench/stats")) {
    if (req.url.includes("gc=1") && globalThis.gc) globalThis.gc();
    const m = process.memoryUsage();
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        rss: m.rss,
        heapUsed: m.heapUsed,
        heapTotal: m.heapTotal,
      }),
    );
  }
});
// Cluster scenarios ("redis":"<url>"): one node of several, through the official Redis adapter.
let adapter;
if (options.redis) {
  const { createAdapter } = await import("@socket.io/redis-adapter");
  const { createClient } = await import("redis");
  const pub = createClient({ url: options.redis });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  adapter = createAdapter(pub, sub);
}
const io = new Server(http, { serveClient: false, ...(adapter ? { adapter } : {}) });

if (mode === "broadcast") {
  // Join the room named in `auth` on connect; on `message`, broadcast to that room and ack
  // when asked.
  io.on("connection", (socket) => {
    const room = String(socket.handshake.auth.room);
    socket.join(room);
    socket.on("message", (data, ack) => {
      io.to(room).emit("message", data);
      if (typeof ack === "function") ack({ ok: true });
    });
  });
} else if (mode === "persisted") {
  // As above, but each message is written to SQLite (npm libsql, WAL) before it is
  // broadcast and acked: what a socket.io app with a local database would do.
  const { default: Database } = await import("libsql");
  const db = new Database(options.db);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(
    `PRAGMA synchronous = ${options.sync === "full" ? "FULL" : "NORMAL"}`,
  );
  db.exec(`CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room TEXT NOT NULL,
    author INTEGER NOT NULL,
    text TEXT NOT NULL,
    created_at INTEGER NOT NULL
  )`);
  db.exec("CREATE INDEX IF NOT EXISTS messages_room ON messages (room, id)");
  const insert = db.prepare(
    "INSERT INTO messages (room, author, text, created_at) VALUES (?, ?, ?, ?)",
  );
  io.on("connection", (socket) => {
    const room = String(socket.handshake.auth.room);
    const author = Number(socket.handshake.auth.user) || 0;
    socket.join(room);
    socket.on("message", (data, ack) => {
      const text = typeof data?.text === "string" ? data.text : "";
      if (text === "") {
        if (typeof ack === "function") ack({ error: "text is required" });
        return;
      }
      const created = Date.now();
      const id = Number(
        insert.run(room, author, text, created).lastInsertRowid,
      );
      const message = { id, room, user: author, text, created };
      io.to(room).emit("message", message);
      if (typeof ack === "function") ack(message);
    });
  });
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}

http.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ port: http.address().port, pid: process.pid }));
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => process.exit(0));
}
