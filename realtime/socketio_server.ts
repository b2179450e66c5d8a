// The service's Socket.IO server, configured from the environment. Faces (desk) register
// their namespaces and handlers on it.
import type { Config } from "@/lib/config.ts";
import type { Logger } from "@/lib/log.ts";
import { SocketServer } from "./socketio/mod.ts";

export function createSocketServer(config: Config, log: Logger): SocketServer {
  const anyOrigin = config.corsOrigins.includes("*");
  const sio = config.socketio;
  return new SocketServer({
    path: sio.path,
    pingInterval: sio.pingInterval,
    pingTimeout: sio.pingTimeout,
    maxPayload: sio.maxPayload,
    connectTimeout: sio.connectTimeout,
    maxBufferedBytes: sio.maxBufferedBytes,
    cors: anyOrigin ? { origin: "*" } : { origin: config.corsOrigins, credentials: true },
    connectionStateRecovery: { maxDisconnectionDuration: sio.recoveryWindow },
    onError: (error, { socket, event }) =>
      log.error("socket.io handler failed", { socket_id: socket?.id, event, error }),
  });
}
