// A socket of another node, as fetchSockets() returns it: what that node told of it, and
// actions that travel through the adapter (as socket.io's RemoteSocket).
import type { RemoteSocketData, Room } from "./adapter.ts";
import type { SocketInfo, SocketSource } from "./broadcast.ts";
import { BroadcastOperator } from "./broadcast.ts";

export class RemoteSocket implements SocketInfo {
  readonly id: string;
  readonly handshake: unknown;
  readonly rooms: ReadonlySet<Room>;
  readonly data: unknown;
  readonly #to: BroadcastOperator;

  constructor(nsp: SocketSource, details: RemoteSocketData) {
    this.id = details.id;
    this.handshake = details.handshake;
    this.rooms = new Set(details.rooms);
    this.data = details.data;
    // The socket's own id is a room on its node: that is how every action reaches it.
    this.#to = new BroadcastOperator(nsp, new Set([this.id]));
  }

  emit(event: string, ...args: unknown[]): boolean {
    return this.#to.emit(event, ...args);
  }

  join(rooms: Room | Room[]): void {
    this.#to.socketsJoin(rooms);
  }

  leave(room: Room): void {
    this.#to.socketsLeave(room);
  }

  disconnect(close = false): this {
    this.#to.disconnectSockets(close);
    return this;
  }
}
