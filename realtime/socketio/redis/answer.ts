// What this node does for a request another node published: act on its own sockets and, when
// the request has an id, publish the answer (JSON, as the official adapter).
import type { BroadcastOptions } from "../adapter.ts";
import type { RedisAdapter } from "./adapter.ts";
import { encode, fromWire, json, RequestType, type WireOptions } from "./wire.ts";

export function answerRequest(
  adapter: RedisAdapter,
  request: Record<string, unknown>,
  respond: (response: string | Uint8Array) => void,
): void {
  const requestId = request.requestId;
  const opts = (): BroadcastOptions => fromWire(request.opts as Partial<WireOptions>);
  const rooms = () => (Array.isArray(request.rooms) ? request.rooms.map(String) : []);
  switch (request.type) {
    case RequestType.SOCKETS:
      respond(json({ requestId, sockets: [...adapter.socketIds(fromWire(request))] }));
      return;
    case RequestType.ALL_ROOMS:
      respond(json({ requestId, rooms: [...adapter.rooms.keys()] }));
      return;
    case RequestType.REMOTE_FETCH: {
      const sockets = [];
      for (const id of adapter.socketIds(opts())) {
        const socket = adapter.nsp.sockets.get(id) as
          | { id: string; handshake?: unknown; data?: unknown }
          | undefined;
        if (!socket) continue;
        sockets.push({
          id,
          handshake: socket.handshake,
          rooms: [...(adapter.sids.get(id) ?? [])],
          data: socket.data,
        });
      }
      respond(json({ requestId, sockets }));
      return;
    }
    case RequestType.REMOTE_JOIN:
    case RequestType.REMOTE_LEAVE:
    case RequestType.REMOTE_DISCONNECT:
      return actOnSockets(adapter, request, opts, rooms, respond);
    case RequestType.BROADCAST:
      return answerBroadcast(adapter, request, respond);
    case RequestType.SERVER_SIDE_EMIT: {
      if (!Array.isArray(request.data)) return;
      const args = [...request.data];
      if (requestId !== undefined) {
        let answered = false;
        // Only the first argument of the first call travels back, as with socket.io.
        args.push((arg: unknown) => {
          if (answered) return;
          answered = true;
          respond(json({ type: RequestType.SERVER_SIDE_EMIT, requestId, data: arg }));
        });
      }
      adapter.nsp.onServerSideEmit(args);
      return;
    }
  }
}

/** Join, leave, disconnect: by options (socketsJoin & co) or, in older nodes, by socket id. */
function actOnSockets(
  adapter: RedisAdapter,
  request: Record<string, unknown>,
  opts: () => BroadcastOptions,
  rooms: () => string[],
  respond: (response: string) => void,
): void {
  const byOptions = request.opts !== undefined;
  const target = byOptions ? opts() : {
    rooms: new Set([String(request.sid)]),
    except: new Set<string>(),
  };
  if (!byOptions && !adapter.nsp.sockets.has(String(request.sid))) return;
  switch (request.type) {
    case RequestType.REMOTE_JOIN:
      adapter.localAddSockets(target, byOptions ? rooms() : [String(request.room)]);
      break;
    case RequestType.REMOTE_LEAVE:
      adapter.localDelSockets(target, byOptions ? rooms() : [String(request.room)]);
      break;
    default:
      adapter.localDisconnectSockets(target, request.close === true);
  }
  if (!byOptions) respond(json({ requestId: request.requestId }));
}

/** Another node's broadcast with acks: sent to this node's sockets; the count, then each ack. */
function answerBroadcast(
  adapter: RedisAdapter,
  request: Record<string, unknown>,
  respond: (response: string | Uint8Array) => void,
): void {
  const packet = request.packet as Record<string, unknown> | undefined;
  if (!packet || !Array.isArray(packet.data)) return;
  const requestId = request.requestId;
  const wire = request.opts as Partial<WireOptions> | undefined;
  adapter.localBroadcastWithAck(
    { type: Number(packet.type), nsp: adapter.nsp.name, data: packet.data },
    fromWire(wire),
    Number(wire?.flags?.timeout ?? 5000),
    (clientCount) =>
      respond(json({ type: RequestType.BROADCAST_CLIENT_COUNT, requestId, clientCount })),
    // msgpack, as the official adapter: an ack may carry binary.
    (arg) => respond(encode({ type: RequestType.BROADCAST_ACK, requestId, packet: arg })),
  );
}
