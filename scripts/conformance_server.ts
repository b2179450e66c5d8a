// `deno task conformance`: the server the official protocol test suites expect, on port 3000
// (or PORT): Engine.IO v4 echoing every message at /engine.io/, and Socket.IO v5 at /socket.io/
// with the suites' handlers ("auth" on connect, "message" → "message-back",
// "message-with-ack" acked, the same on /custom). pingInterval 300 ms, pingTimeout 200 ms,
// maxPayload 1000000, as the suites assume.
import { ENGINE_DEFAULTS } from "@/realtime/socketio/engine/options.ts";
import { EngineServer } from "@/realtime/socketio/engine/server.ts";
import { type Socket, SocketServer } from "@/realtime/socketio/mod.ts";

const timing = { pingInterval: 300, pingTimeout: 200, maxPayload: 1_000_000 };

const engine = new EngineServer({ ...ENGINE_DEFAULTS, ...timing, path: "/engine.io/" });
engine.onSession = (session) => {
  session.listener = {
    onMessage: (data) => session.send([{ type: "message", data }]),
    onClose: () => {},
  };
};

const io = new SocketServer({ ...timing, connectTimeout: 1000 });
function onConnection(socket: Socket) {
  socket.emit("auth", socket.handshake.auth);
  socket.on("message", (...args: unknown[]) => socket.emit("message-back", ...args));
  socket.on("message-with-ack", (...args: unknown[]) => {
    const ack = args.pop() as (...reply: unknown[]) => void;
    ack(...args);
  });
}
io.on("connection", onConnection);
io.of("/custom").on("connection", onConnection);

const ioHandler = io.handler();
const port = Number(Deno.env.get("PORT") ?? 3000);
Deno.serve({ port, hostname: "127.0.0.1" }, (req, info) => {
  const url = new URL(req.url);
  return url.pathname.startsWith("/engine.io/") ? engine.handle(req, info) : ioHandler(req, info);
});
