// The reference: the official socket.io@4 on Node with its default in-memory adapter, running
// the same application as bench/servers/ours.ts. Started by bench/run.ts as
//   node --expose-gc node/reference.mjs '{"mode":"broadcast"|"persisted","db":"<file>","sync":"normal"|"full"}'
// With `"engine":"uws"` it is the same socket.io server on uWebSockets.js (io.attachApp(), as
// socket.io documents it) instead of Node's http + ws: the stronger reference.
// It prints one JSON line with its port once it listens.
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { Server } from "socket.io";

const options = JSON.parse(process.argv[2] ?? "{}");
const mode = options.mode ?? "broadcast";

function memory() {
  const m = process.memoryUsage();
  return JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal });
}

/**
 * uWebSockets.js from npm (@trufflesuite/uws-js-unofficial ships its builds in the package).
 * Its own loader falls back to a pure-JS imitation when the build does not load; the build is
 * loaded by path here so that the fallback is never what gets measured.
 */
function loadUws() {
  const require = createRequire(import.meta.url);
  const build = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
  return require(`@trufflesuite/uws-js-unofficial/binaries/${build}`);
}

const uws = options.engine === "uws" ? loadUws() : undefined;
const app = uws?.App();
const http = uws ? undefined : createServer((req, res) => {
  if (req.url?.startsWith("/bench/stats")) {
    if (req.url.includes("gc=1") && globalThis.gc) globalThis.gc();
    res.writeHead(200, { "content-type": "application/json" });
    res.end(memory());
  }
});
app?.get("/bench/stats", (res, req) => {
  if (req.getQuery()?.includes("gc=1") && globalThis.gc) globalThis.gc();
  res.writeHeader("content-type", "application/json").end(memory());
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
const io = new Server({ serveClient: false, ...(adapter ? { adapter } : {}) });
if (app) io.attachApp(app);
else io.attach(http);

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

const listening = (port) => console.log(JSON.stringify({ port, pid: process.pid }));
if (app) {
  app.listen("127.0.0.1", 0, (token) => {
    if (!token) {
      console.error("uWebSockets.js could not listen");
      process.exit(1);
    }
    listening(uws.us_socket_local_port(token));
  });
} else {
  http.listen(0, "127.0.0.1", () => listening(http.address().port));
}
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => process.exit(0));
}
