// The official socket.io-client, connected the way desk clients connect.
import { io, type Socket } from "socket.io-client";

export type { Socket };

/** A connected client (own connection, no reconnection); rejects on connect_error or timeout. */
export function sioConnect(
  url: string,
  auth: Record<string, unknown>,
  { transports, ms = 10_000 }: { transports?: string[]; ms?: number } = {},
): Promise<Socket> {
  const socket = io(url, {
    auth,
    reconnection: false,
    forceNew: true,
    ...(transports ? { transports } : {}),
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error("socket.io connect timed out"));
    }, ms);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once("connect_error", (err: Error) => {
      clearTimeout(timer);
      socket.close();
      reject(new Error(`socket.io connect_error: ${err.message}`));
    });
  });
}

/** Emits with an ack; the first ack argument, or `{timeout: true}` after `ms`. */
export function emitAck(
  socket: Socket,
  event: string,
  data: unknown,
  ms = 10_000,
): Promise<unknown> {
  return socket.timeout(ms).emitWithAck(event, data).catch(() => ({ timeout: true }));
}
