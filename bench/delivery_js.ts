// The synchronous JS cost of one fan-out delivery, in one process: our `io.to(room).emit` to N
// sockets, our EngineSession.send over the same N sessions, and a bare loop of `ws.send` over N
// plain Deno WebSockets. Clients run in this process too; only the send loops are timed, so
// the figures leave out the runtime's asynchronous write (the larger part of a delivery).
//   taskset -c 1 deno run -A bench/delivery_js.ts [N=1000]
import { preparePacket } from "../realtime/socketio/adapter.ts";
import { SocketServer } from "../realtime/socketio/mod.ts";

const N = Number(Deno.args[0] ?? 1000);
const io = new SocketServer({ serveClient: false });
io.on("connection", (socket) => socket.join("room"));
const handler = io.handler();
const bare: WebSocket[] = [];
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
  if (new URL(req.url).pathname !== "/bare") return handler(req);
  const { socket, response } = Deno.upgradeWebSocket(req, { idleTimeout: 0 });
  socket.onopen = () => bare.push(socket);
  return response;
});
const base = `ws://127.0.0.1:${server.addr.port}`;
const clients: WebSocket[] = [];
let joined = 0;
for (let i = 0; i < N; i++) {
  const client = new WebSocket(`${base}/socket.io/?EIO=4&transport=websocket`);
  client.onmessage = (e) => {
    const data = String(e.data);
    if (data[0] === "0") client.send("40");
    else if (data.startsWith("40")) joined++;
  };
  clients.push(client, new WebSocket(`${base}/bare`));
}
while (joined < N || bare.length < N) await new Promise((r) => setTimeout(r, 50));

const payload = "x".repeat(90);
function timed(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}
const ours = () => timed(() => io.to("room").emit("message", payload + Math.random()));
function sessions(): number {
  const packets = preparePacket({ type: 2, nsp: "/", data: ["message", payload + Math.random()] });
  const list = [...io.engine.sessions.values()];
  return timed(() => {
    for (const session of list) session.send(packets);
  });
}
function plain(): number {
  const frame = `42["message","${payload}${Math.random()}"]`;
  return timed(() => {
    for (const ws of bare) ws.send(frame);
  });
}
const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1] * 1000 / N;
const pause = () => new Promise((r) => setTimeout(r, 10));
for (let round = 0; round < 3; round++) {
  const a: number[] = [], b: number[] = [], c: number[] = [];
  for (let i = 0; i < 100; i++) {
    a.push(ours());
    await pause();
    b.push(sessions());
    await pause();
    c.push(plain());
    await pause();
  }
  console.log(
    `median µs per delivery: io.to().emit ${median(a).toFixed(3)}, ` +
      `session.send ${median(b).toFixed(3)}, bare ws.send ${median(c).toFixed(3)}`,
  );
}
for (const client of clients) client.close();
Deno.exit(0);
