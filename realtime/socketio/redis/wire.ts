// The wire format of socket.io's Redis adapter (v8), so that our nodes and Node's share a Redis:
// broadcasts as notepack `[uid, packet, {rooms, except, flags}]` on `<key>#<nsp>#` (or
// `<key>#<nsp>#<room>#` for one room), requests and responses as JSON (msgpack when they carry
// a packet) on `<key>-request#<nsp>#` and `<key>-response#<nsp>#` (or its `<uid>#` channel).
import notepack from "notepack.io";
import type { BroadcastOptions, Room } from "../adapter.ts";

/** Request types, numbered as in the official adapter. */
export enum RequestType {
  SOCKETS = 0,
  ALL_ROOMS = 1,
  REMOTE_JOIN = 2,
  REMOTE_LEAVE = 3,
  REMOTE_DISCONNECT = 4,
  REMOTE_FETCH = 5,
  SERVER_SIDE_EMIT = 6,
  BROADCAST = 7,
  BROADCAST_CLIENT_COUNT = 8,
  BROADCAST_ACK = 9,
}

export interface Channels {
  /** Broadcasts to the whole namespace; `broadcast + room + "#"` for one room. */
  broadcast: string;
  request: string;
  response: string;
  /** Responses for this node only. */
  ownResponse: string;
}

export function channelsOf(key: string, nsp: string, uid: string): Channels {
  const response = `${key}-response#${nsp}#`;
  return {
    broadcast: `${key}#${nsp}#`,
    request: `${key}-request#${nsp}#`,
    response,
    ownResponse: `${response}${uid}#`,
  };
}

/** Options as they travel: arrays instead of sets, socket.io's flag names. */
export interface WireOptions {
  rooms: Room[];
  except: Room[];
  flags?: { volatile?: boolean; local?: boolean; timeout?: number };
}

export function toWire(opts: BroadcastOptions, timeout?: number): WireOptions {
  const flags: WireOptions["flags"] = {};
  if (opts.volatile) flags.volatile = true;
  if (timeout !== undefined) flags.timeout = timeout;
  return { rooms: [...opts.rooms], except: [...opts.except], flags };
}

export function fromWire(opts: Partial<WireOptions> | undefined): BroadcastOptions {
  return {
    rooms: new Set((opts?.rooms ?? []).map(String)),
    except: new Set((opts?.except ?? []).map(String)),
    volatile: opts?.flags?.volatile === true,
  };
}

export function encode(value: unknown): Uint8Array {
  return notepack.encode(value) as Uint8Array;
}

export function json(value: unknown): string {
  return JSON.stringify(value);
}

/** A request or response: JSON when it starts with `{`, msgpack otherwise; undefined if bad. */
export function decodeMessage(msg: Uint8Array): Record<string, unknown> | undefined {
  try {
    const value = msg[0] === 0x7b
      ? JSON.parse(new TextDecoder().decode(msg))
      : notepack.decode(msg as Parameters<typeof notepack.decode>[0]);
    return value !== null && typeof value === "object" ? value : undefined;
  } catch {
    return undefined;
  }
}

/** A broadcast message; undefined when it is not one. */
export function decodeBroadcast(
  msg: Uint8Array,
): [string, Record<string, unknown>, Partial<WireOptions>] | undefined {
  try {
    const value = notepack.decode(msg as Parameters<typeof notepack.decode>[0]);
    if (!Array.isArray(value) || value.length < 3) return undefined;
    const [uid, packet, opts] = value;
    if (packet === null || typeof packet !== "object") return undefined;
    return [String(uid), packet, opts ?? {}];
  } catch {
    return undefined;
  }
}
