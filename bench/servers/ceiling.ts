// The ceiling: a bare Deno.upgradeWebSocket broadcast server with no protocol at all. Every
// text frame a client sends is sent as-is to every client of its room (?room=). What our
// Socket.IO fan-out costs above this is what our protocol layer costs.
//   deno run -A bench/servers/ceiling.ts
import { memoryStats } from "./stats.ts";

const rooms = new Map<string, Set<WebSocket>>();

function stats(url: URL): Response {
  return Response.json(memoryStats(url.searchParams.get("gc") === "1"));
}

const listening = Promise.withResolvers<Deno.NetAddr>();
Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: listening.resolve }, (req) => {
  const url = new URL(req.url);
  if (url.pathname === "/bench/stats") return stats(url);
  if (req.headers.get("upgrade") !== "websocket") return new Response(null, { status: 426 });
  const name = url.searchParams.get("room") ?? "";
  const { socket, response } = Deno.upgradeWebSocket(req);
  let room = rooms.get(name);
  if (!room) rooms.set(name, room = new Set());
  const members = room;
  socket.onopen = () => members.add(socket);
  socket.onclose = () => members.delete(socket);
  socket.onmessage = (event) => {
    for (const peer of members) peer.send(event.data);
  };
  return response;
});
const { port } = await listening.promise;
console.log(JSON.stringify({ port, pid: Deno.pid }));
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => Deno.exit(0));
}
