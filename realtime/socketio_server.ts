// The service's Socket.IO server, configured from the environment. Faces (desk) register
// their namespaces and handlers on it. Connection state recovery is for the clients that ask
// for it (`auth.recover: true`): the others get exactly the documented arguments of each event,
// with no trailing offset. A recovery runs the middlewares again, so what authentication would
// refuse now is never resurrected. With REDIS_URL the recovery store is Redis: a client that
// dropped from one node resumes on another (see README, "Socket.IO across nodes").
import type { Config } from "@/lib/config.ts";
import type { Logger } from "@/lib/log.ts";
import { clientAddressOf } from "./client_address.ts";
import { redisRecoveryStore, SocketServer } from "./socketio/mod.ts";

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
    connectionStateRecovery: {
      maxDisconnectionDuration: sio.recoveryWindow,
      skipMiddlewares: false,
      maxEvents: sio.recoveryMaxEvents,
      maxBytes: sio.recoveryMaxBytes,
      maxSessions: sio.recoveryMaxSessions,
      optIn: (handshake) => handshake.auth.recover === true,
      // With Redis the kept states and the log are shared: a client resumes on any node.
      store: config.redis
        ? redisRecoveryStore({
          url: config.redis.url,
          key: `${config.redis.prefix}-sio`,
          onError: (error) => log.warn("socket.io recovery store: redis unavailable", { error }),
        })
        : undefined,
    },
    maxPendingPerAddress: sio.maxPendingPerAddress,
    addressOf: (req, info) => clientAddressOf(req, info, config.trustProxy),
    onError: (error, { socket, event }) =>
      log.error("socket.io handler failed", { socket_id: socket?.id, event, error }),
  });
}
