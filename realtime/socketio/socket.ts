// A socket: one client's connection to one namespace. Events and acks in both directions,
// room membership (through the adapter), and every way it can end.
import { PacketType } from "socket.io-parser";
import type { AdapterSocket, RestoredSession, Room, SessionState, SioPacket } from "./adapter.ts";
import { BroadcastOperator, RESERVED_EVENTS, type SocketInfo, TimeoutError } from "./broadcast.ts";
import type { Client } from "./client.ts";
import { randomId } from "./engine/options.ts";
import type { CloseReason, EngineSession, OutPacket } from "./engine/session.ts";
import type { Handshake } from "./handshake.ts";
import type { Namespace } from "./namespace.ts";

export type { Handshake };

// deno-lint-ignore no-explicit-any
export type Listener = (...args: any[]) => unknown;
export type AckCallback = (...args: unknown[]) => void;

export type DisconnectReason =
  | CloseReason
  | "client namespace disconnect"
  | "server namespace disconnect"
  | "forced server close";

/** Reasons after which the client is expected back, so its state is kept for recovery. */
const RECOVERABLE: ReadonlySet<string> = new Set([
  "transport close",
  "transport error",
  "ping timeout",
  "forced close",
  "server shutting down",
  "forced server close",
]);

export { TimeoutError };

interface PendingAck {
  callback: (err: Error | null, args: unknown[]) => void;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * Kept small (one per connection per namespace): what most sockets never use (acks they wait
 * for, catch-all listeners, `data`) is created on first use, and listeners are one flat array.
 */
export class Socket implements AdapterSocket, SocketInfo {
  connected = false;

  #id: string;
  #pid: string | undefined;
  #recovered: boolean;
  #data: Record<string, unknown> | undefined;
  /** Event names and listeners in turn: `[event, listener, event, listener, ...]`. */
  #listeners: (string | Listener)[] = [];
  #anyListeners: Listener[] | undefined;
  #acks: Map<number, PendingAck> | undefined;
  #since: number | string = 0;
  /** The client's session, at hand for broadcasts. */
  #session: EngineSession;

  /**
   * `recovers`: the client takes part in connection state recovery (it gets a pid and offsets).
   * `previous`: the state it asks to resume, which the middlewares see until it is confirmed.
   */
  constructor(
    readonly nsp: Namespace,
    readonly client: Client,
    readonly handshake: Handshake,
    recovers = false,
    previous?: SessionState,
  ) {
    this.#session = client.session;
    this.#recovered = previous !== undefined;
    this.#id = previous?.sid ?? randomId();
    this.#pid = recovers ? (previous?.pid ?? crypto.randomUUID()) : undefined;
    if (previous) this.#data = (previous.data ?? {}) as Record<string, unknown>;
  }

  /** What the application keeps with this socket (kept across a recovery). */
  get data(): Record<string, unknown> {
    return this.#data ??= {};
  }

  set data(value: Record<string, unknown>) {
    this.#data = value;
  }

  get id(): string {
    return this.#id;
  }

  /** Private id the client presents to recover this socket's state after a drop. */
  get pid(): string | undefined {
    return this.#pid;
  }

  /** True when this connection resumes an earlier one (connection state recovery). */
  get recovered(): boolean {
    return this.#recovered;
  }

  /**
   * Extension, for middlewares: turns down the state this connection asked to resume (say, it
   * belongs to another login than the credentials presented now). The socket goes on as a new
   * connection: new id and pid, empty data, no rooms, nothing replayed; the kept state stays
   * for its owner. Does nothing once connected.
   */
  startFresh(): void {
    if (this._renew()) this.#data = undefined;
  }

  /**
   * A new identity instead of the one asked to resume; the namespace also calls it when that
   * state went (taken, purged, expired) while the middlewares ran, keeping what they set.
   */
  _renew(): boolean {
    if (this.connected || !this.#recovered) return false;
    this.#recovered = false;
    this.#id = randomId();
    this.#pid = crypto.randomUUID();
    return true;
  }

  get rooms(): ReadonlySet<Room> {
    return new Set(this.nsp.adapter.sids.get(this.id) ?? []);
  }

  /** Whether the socket is in `room` (without the copy that `rooms` makes). */
  isIn(room: Room): boolean {
    return this.nsp.adapter.sids.get(this.id)?.has(room) ?? false;
  }

  get conn() {
    return this.client.session;
  }

  // --- listeners -----------------------------------------------------------------------------

  on(event: string, listener: Listener): this {
    this.#listeners.push(event, listener);
    return this;
  }

  once(event: string, listener: Listener): this {
    const wrapper: Listener = (...args) => {
      this.off(event, wrapper);
      return listener(...args);
    };
    return this.on(event, wrapper);
  }

  /** Removes `listener` from `event` (every time it was added), or all of `event`'s. */
  off(event: string, listener?: Listener): this {
    const kept: (string | Listener)[] = [];
    const all = this.#listeners;
    for (let i = 0; i < all.length; i += 2) {
      if (all[i] === event && (listener === undefined || all[i + 1] === listener)) continue;
      kept.push(all[i], all[i + 1]);
    }
    this.#listeners = kept;
    return this;
  }

  /** Listens to every incoming event: `(event, ...args)`. */
  onAny(listener: Listener): this {
    (this.#anyListeners ??= []).push(listener);
    return this;
  }

  listeners(event: string): Listener[] {
    const found: Listener[] = [];
    const all = this.#listeners;
    for (let i = 0; i < all.length; i += 2) {
      if (all[i] === event) found.push(all[i + 1] as Listener);
    }
    return found;
  }

  /** Runs listeners; a throwing or rejecting one is reported and does not stop the others. */
  _dispatch(event: string, args: unknown[], includeAny = false): void {
    const run = (listener: Listener, callArgs: unknown[]) => {
      try {
        const result = listener(...callArgs);
        if (result instanceof Promise) {
          result.catch((err) => this.nsp.server._report(err, this, event));
        }
      } catch (err) {
        this.nsp.server._report(err, this, event);
      }
    };
    if (includeAny && this.#anyListeners) {
      for (const l of [...this.#anyListeners]) run(l, [event, ...args]);
    }
    for (const l of this.listeners(event)) run(l, args);
  }

  // --- sending -------------------------------------------------------------------------------

  /** Emits an event to this client. A function as last argument receives its ack. */
  emit(event: string, ...args: unknown[]): boolean {
    this.#emit(event, args, undefined);
    return true;
  }

  /** `socket.timeout(ms).emit(ev, ..., (err, ...reply) => ...)` and `.emitWithAck(...)`. */
  timeout(ms: number) {
    return {
      emit: (event: string, ...args: unknown[]): boolean => {
        this.#emit(event, args, ms);
        return true;
      },
      emitWithAck: (event: string, ...args: unknown[]) => this.#emitWithAck(event, args, ms),
    };
  }

  /** Emits and resolves with the client's first ack argument. */
  emitWithAck(event: string, ...args: unknown[]): Promise<unknown> {
    return this.#emitWithAck(event, args, undefined);
  }

  #emitWithAck(event: string, args: unknown[], timeout: number | undefined): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const callback = timeout === undefined
        ? (reply: unknown) => resolve(reply)
        : (err: Error | null, reply: unknown) => err ? reject(err) : resolve(reply);
      this.#emit(event, [...args, callback], timeout);
    });
  }

  #emit(event: string, args: unknown[], timeout: number | undefined): void {
    if (RESERVED_EVENTS.has(event)) throw new Error(`"${event}" is a reserved event name`);
    if (!this.connected) return;
    const packet: SioPacket = { type: PacketType.EVENT, nsp: this.nsp.name, data: [event] };
    const last = args[args.length - 1];
    if (typeof last === "function") {
      args = args.slice(0, -1);
      const id = this.nsp.nextAckId();
      packet.id = id;
      const fn = last as AckCallback;
      const pending: PendingAck = {
        callback: timeout === undefined
          ? (_err, reply) => fn(...reply)
          : (err, reply) => err ? fn(err) : fn(null, ...reply),
      };
      const acks = this.#acks ??= new Map<number, PendingAck>();
      if (timeout !== undefined) {
        pending.timer = setTimeout(() => {
          acks.delete(id);
          pending.callback(new TimeoutError(), []);
        }, timeout);
      }
      acks.set(id, pending);
    }
    (packet.data as unknown[]).push(...args);
    if (this.pid && packet.id === undefined) {
      // For a client in recovery, a direct emit is a broadcast to this socket's own room, so it
      // gets an offset like every other event (the client takes any trailing string as one),
      // and is logged and expires like the others.
      this.nsp.adapter.broadcast(packet, {
        rooms: new Set([this.id]),
        except: new Set(),
        local: true,
      });
    } else {
      this.client.write(packet);
      this.nsp.server.onDelivered(1);
    }
  }

  /** A broadcast with acks: this client's answer to packet `id` goes to `onAck`. */
  expectAck(id: number, onAck: (args: unknown[]) => void): void {
    if (this.connected) {
      (this.#acks ??= new Map<number, PendingAck>()).set(id, {
        callback: (_err, args) => onAck(args),
      });
    }
  }

  /**
   * Writes prepared frames (adapter broadcasts; the adapter counts them for onDelivered).
   * Volatile ones are dropped if not writable.
   */
  deliver(packets: OutPacket[], volatile: boolean): boolean {
    if (!this.connected) return false;
    const session = this.#session;
    if (volatile && !session.writable) return false;
    session.send(packets);
    return true;
  }

  // --- rooms ---------------------------------------------------------------------------------

  join(rooms: Room | Room[]): void {
    if (!this.connected) return;
    this.nsp.adapter.addAll(this.id, Array.isArray(rooms) ? rooms : [rooms]);
  }

  leave(room: Room): void {
    this.nsp.adapter.del(this.id, room);
  }

  /** A broadcast to rooms, leaving this socket out. */
  to(room: Room | Room[]): BroadcastOperator {
    return this.broadcast.to(room);
  }

  in(room: Room | Room[]): BroadcastOperator {
    return this.to(room);
  }

  except(room: Room | Room[]): BroadcastOperator {
    return this.broadcast.except(room);
  }

  /** Every socket of the namespace but this one. */
  get broadcast(): BroadcastOperator {
    return new BroadcastOperator(this.nsp, new Set(), new Set([this.id]));
  }

  // --- lifecycle -----------------------------------------------------------------------------

  /** Called by the namespace once middlewares passed (or were skipped on recovery). */
  _connect(restored: RestoredSession | undefined): void {
    this.connected = true;
    // Replays (above the log position) are sent below, so a later drop resumes from here.
    this.#since = this.nsp.adapter.position();
    this.nsp.adapter.addAll(this.id, [this.id, ...(restored?.rooms ?? [])]);
    const reply: Record<string, string> = { sid: this.id };
    if (this.pid) reply.pid = this.pid;
    this.client.write({ type: PacketType.CONNECT, nsp: this.nsp.name, data: reply });
    for (const packets of restored?.missed ?? []) this.client.session.send(packets);
  }

  _onPacket(packet: SioPacket): void {
    switch (packet.type) {
      case PacketType.EVENT:
      case PacketType.BINARY_EVENT: {
        const [event, ...args] = packet.data as [string, ...unknown[]];
        if (packet.id !== undefined) args.push(this.#ackFor(packet.id));
        this._dispatch(event, args, true);
        break;
      }
      case PacketType.ACK:
      case PacketType.BINARY_ACK: {
        const pending = this.#acks?.get(packet.id!);
        if (!pending) return;
        this.#acks!.delete(packet.id!);
        clearTimeout(pending.timer);
        pending.callback(null, packet.data as unknown[]);
        break;
      }
      case PacketType.DISCONNECT:
        this._onClose("client namespace disconnect");
        break;
    }
  }

  /** The function a handler calls to answer the client's ack; only the first call counts. */
  #ackFor(id: number): AckCallback {
    let sent = false;
    return (...args: unknown[]) => {
      if (sent || !this.connected) return;
      sent = true;
      this.client.write({ type: PacketType.ACK, nsp: this.nsp.name, id, data: args });
    };
  }

  /** Leaves the namespace: DISCONNECT to the client, or with `close` the whole connection. */
  disconnect(close = false): this {
    if (!this.connected) return this;
    if (close) {
      this.client.disconnectAll();
    } else {
      this.client.write({ type: PacketType.DISCONNECT, nsp: this.nsp.name });
      this._onClose("server namespace disconnect");
    }
    return this;
  }

  /** Every exit path ends here: rooms, indexes and pending acks are all cleared. */
  _onClose(reason: DisconnectReason): void {
    if (!this.connected) return;
    this._dispatch("disconnecting", [reason]);
    if (this.pid && RECOVERABLE.has(reason)) {
      this.nsp.adapter.persistSession({
        sid: this.id,
        pid: this.pid,
        // Its own id stays: broadcasts to (or except) it while away must be judged by it.
        rooms: [...this.rooms],
        data: this.data,
        since: this.#since,
      });
    }
    this.connected = false;
    this.nsp.adapter.delAll(this.id);
    this.nsp._remove(this);
    this.client._remove(this);
    for (const pending of this.#acks?.values() ?? []) clearTimeout(pending.timer);
    this.#acks = undefined;
    this._dispatch("disconnect", [reason]);
  }
}
