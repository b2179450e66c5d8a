// A Socket.IO v4-compatible server for Deno: Engine.IO v4 + Socket.IO v5 over Deno.serve and
// Deno.upgradeWebSocket, with the official parsers for the wire format.
export { SocketServer } from "./server.ts";
export type { RecoveryOptions, SocketServerOptions } from "./server.ts";
export type { ConnInfo } from "./engine/options.ts";
export { Namespace } from "./namespace.ts";
export type { ConnectError, Middleware } from "./namespace.ts";
export { Socket, TimeoutError } from "./socket.ts";
export type { DisconnectReason, Handshake, Listener } from "./socket.ts";
export { BroadcastOperator } from "./broadcast.ts";
export type { SocketInfo } from "./broadcast.ts";
export { MemoryAdapter, memoryAdapter, RECOVERY_LIMITS } from "./adapter.ts";
export { RedisAdapter, redisAdapter } from "./redis/adapter.ts";
export type { RedisAdapterOptions } from "./redis/adapter.ts";
export { RedisRecoveryStore, redisRecoveryStore } from "./redis/recovery.ts";
export type { RedisRecoveryOptions } from "./redis/recovery.ts";
export { MemoryRecoveryStore, memoryRecoveryStore } from "./recovery_memory.ts";
export type { RecoveryLimits, RecoveryStore, RecoveryStoreFactory } from "./recovery.ts";
export type {
  Adapter,
  AdapterFactory,
  AdapterNamespace,
  AdapterSocket,
  BroadcastOptions,
  RecoveryStats,
  RemoteSocketData,
  RestoredSession,
  SessionState,
} from "./adapter.ts";
