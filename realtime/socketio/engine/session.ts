// One Engine.IO v4 session: its transport (long-polling, then maybe WebSocket), its outgoing
// buffer, the heartbeat, the upgrade, and every way it can end. The wire format comes from
// engine.io-parser; this file decides only what is sent when.
import {
  decodePacket,
  decodePayload,
  encodePacket,
  encodePayload,
  type Packet,
  type PacketType,
  type RawData as ParserRawData,
} from "engine.io-parser";
import type { Heartbeat, HeartbeatEntry } from "./heartbeat.ts";
import type { EngineOptions } from "./options.ts";

export type RawData = string | Uint8Array | ArrayBuffer;

/** Why a session ended; the Socket.IO layer passes it on as the disconnect reason. */
export type CloseReason =
  | "transport close"
  | "transport error"
  | "ping timeout"
  | "parse error"
  | "forced close"
  | "server shutting down"
  | "slow consumer";

/** An outgoing packet. `frame` is its WebSocket frame when prepared once for many sessions. */
export interface OutPacket {
  type: PacketType;
  data?: RawData;
  frame?: RawData;
}

/** What the handshake request looked like (Socket.IO exposes it as `socket.handshake`). */
export interface HandshakeRequest {
  /** The whole URL, as Request.url has it. */
  url: string;
  /** Lower-case names; one plain object per connection, shared by its namespaces. */
  headers: Record<string, string>;
  /** The URL's query parameters, filled in by whoever needs them first. */
  query?: Record<string, string>;
  address: string;
  secure: boolean;
  /** When the handshake came, ms since the epoch. */
  time: number;
}

/** Who hears a session: its messages, and its end (once). */
export interface SessionListener {
  onMessage(data: RawData): void;
  onClose(reason: CloseReason): void;
}

/** What a session needs of its server: settings, the shared heartbeat, and two notices. */
export interface SessionOwner {
  readonly opts: EngineOptions;
  readonly heartbeat: Heartbeat;
  /** The session stopped being pending: established, or closed before. Called once. */
  _settled(session: EngineSession): void;
  /** The session ended. Called once, before its listener hears it. */
  _closed(session: EngineSession): void;
}

export type PollResult =
  | { ok: true; body: string }
  | { ok: false; status: 400 | 413 };

type Timer = ReturnType<typeof setTimeout>;

const BINARY_TYPE = "nodebuffer" as unknown as "arraybuffer";

/** A listener that ignores everything, shared by sessions nobody listens to yet. */
const NOBODY: SessionListener = { onMessage() {}, onClose() {} };

const PING: OutPacket[] = [{ type: "ping", frame: "2" }];

function sizeOf(data: RawData | undefined): number {
  if (data === undefined) return 1;
  return typeof data === "string" ? data.length : data.byteLength;
}

/** Message packets with their WebSocket frames computed once, for writing to many sessions. */
export function messagePackets(data: RawData[]): OutPacket[] {
  return data.map((d) => {
    const packet: OutPacket = { type: "message", data: d };
    packet.frame = encodeFrame(packet);
    return packet;
  });
}

function encodeFrame(packet: OutPacket): RawData {
  if (packet.frame !== undefined) return packet.frame;
  let frame: RawData = "";
  encodePacket(packet as Packet, true, (encoded) => (frame = encoded as RawData));
  return frame;
}

/** A WebSocket taking over a polling session: the socket, whether it answered the probe. */
interface Upgrade {
  ws: WebSocket;
  probed: boolean;
  timer: Timer;
}

/**
 * Per-connection state is kept small on purpose (it is multiplied by every idle client): no
 * closures (the WebSocket's listener is the session itself, see handleEvent), no timers of its
 * own (the server's Heartbeat wakes it), and the rarely used parts (upgrade, ending, queue)
 * only exist while in use.
 */
export class EngineSession implements HeartbeatEntry {
  readyState: "open" | "closed" = "open";
  transport: "polling" | "websocket";
  /** Who hears messages and the end; the Socket.IO layer puts its Client here. */
  listener: SessionListener = NOBODY;
  /** The heartbeat's bookkeeping. */
  _slot = -1;

  #owner: SessionOwner;
  #settled = false;
  /** A ping went out and its pong has not come back yet. */
  #awaitingPong = false;
  #buffer: OutPacket[] | undefined;
  #bufferedBytes = 0;
  /** Bytes written to the WebSocket since its backlog was last looked at. */
  #unchecked = 0;
  #poll: ((body: string) => void) | undefined;
  /** A flush of the queue to the pending long-poll is due at the end of this tick. */
  #flushDue = false;
  #posting = false;
  #ws: WebSocket | undefined;
  /** The WebSocket once it is open and carries this session: sends go straight to it. */
  #live: WebSocket | undefined;
  #upgrade: Upgrade | undefined;
  #ending: { reason: CloseReason; timer: Timer } | undefined;

  constructor(
    readonly id: string,
    readonly request: HandshakeRequest,
    owner: SessionOwner,
    ws?: WebSocket,
  ) {
    this.#owner = owner;
    const opts = owner.opts;
    this.transport = ws ? "websocket" : "polling";
    const open = JSON.stringify({
      sid: id,
      upgrades: ws ? [] : ["websocket"],
      pingInterval: opts.pingInterval,
      pingTimeout: opts.pingTimeout,
      maxPayload: opts.maxPayload,
    });
    if (ws) this.#attach(ws);
    this.send([{ type: "open", data: open }]);
    owner.heartbeat.schedule(this, opts.pingInterval);
  }

  /** The layer above accepted this session (Socket.IO: it joined a namespace). */
  established(): void {
    this.#settle();
  }

  #settle(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#owner._settled(this);
  }

  // --- sending -------------------------------------------------------------------------------

  /** Queues or writes packets, in order. A client that stops reading is disconnected. */
  send(packets: OutPacket[]): void {
    const ws = this.#live;
    if (ws !== undefined) {
      // Writing to a socket that is closing is a no-op in Deno; the session hears of it next.
      let written = this.#unchecked;
      for (let i = 0; i < packets.length; i++) {
        const frame = encodeFrame(packets[i]);
        ws.send(frame);
        written += typeof frame === "string" ? frame.length : frame.byteLength;
      }
      // Asking the socket for its backlog is a call into the runtime; once per eighth of the
      // bound is often enough to stop a client that does not read.
      const bound = this.#owner.opts.maxBufferedBytes;
      if (written >= bound / 8) {
        written = 0;
        if (ws.bufferedAmount > bound) this.close("slow consumer");
      }
      this.#unchecked = written;
      return;
    }
    if (this.readyState !== "open" || this.#ending) return;
    // Polling, an upgrade in progress, or a WebSocket not open yet: queue.
    const buffer = this.#buffer ??= [];
    for (const packet of packets) {
      buffer.push(packet);
      this.#bufferedBytes += sizeOf(packet.data);
    }
    if (this.#bufferedBytes > this.#owner.opts.maxBufferedBytes) {
      return this.close("slow consumer");
    }
    if (this.#poll !== undefined && !this.#flushDue) {
      // Everything sent in this tick leaves in one response, not the first packet alone.
      this.#flushDue = true;
      queueMicrotask(() => {
        this.#flushDue = false;
        if (this.transport === "polling" && !this.#upgrade?.probed) this.#flushPoll();
      });
    }
  }

  #sendQueued(): void {
    const waiting = this.#buffer;
    this.#buffer = undefined;
    this.#bufferedBytes = 0;
    if (waiting) this.send(waiting);
  }

  /** Answers the pending long-poll with everything queued, in one payload. */
  #flushPoll(): void {
    const respond = this.#poll;
    const packets = this.#buffer;
    if (!respond || !packets?.length) return;
    this.#buffer = undefined;
    this.#bufferedBytes = 0;
    this.#poll = undefined;
    encodePayload(packets as Packet[], respond);
    if (this.#ending) this.close(this.#ending.reason);
  }

  /** True when a packet sent now would go out at once rather than wait in the buffer. */
  get writable(): boolean {
    if (this.readyState !== "open") return false;
    if (this.transport === "websocket") return this.#ws?.readyState === WebSocket.OPEN;
    return this.#poll !== undefined && !this.#upgrade?.probed;
  }

  /** Answers a pending long-poll with a single packet (noop on upgrade, close on close). */
  #releasePoll(type: "noop" | "close"): void {
    const respond = this.#poll;
    this.#poll = undefined;
    if (respond) encodePacket({ type }, false, (encoded) => respond(encoded as string));
  }

  // --- polling -------------------------------------------------------------------------------

  /**
   * A long-poll GET: answered at once when packets are waiting, otherwise when some arrive.
   * A second GET while one is pending breaks the protocol and ends the session; a client
   * that gives up on its GET has gone away.
   */
  poll(signal: AbortSignal): Promise<PollResult> | PollResult {
    if (this.#poll) {
      this.close("transport error");
      return { ok: false, status: 400 };
    }
    if (this.#upgrade?.probed) return { ok: true, body: "6" };
    return new Promise((resolve) => {
      const respond = (body: string) => {
        signal.removeEventListener("abort", onAbort);
        resolve({ ok: true, body });
      };
      const onAbort = () => {
        if (this.#poll !== respond) return;
        this.#poll = undefined;
        resolve({ ok: false, status: 400 });
        this.close("transport close");
      };
      this.#poll = respond;
      signal.addEventListener("abort", onAbort, { once: true });
      this.#flushPoll();
    });
  }

  /** A POST of one or more packets. One at a time; bodies over maxPayload end the session. */
  async post(req: Request): Promise<PollResult> {
    if (this.#posting) {
      this.close("transport error");
      return { ok: false, status: 400 };
    }
    this.#posting = true;
    try {
      const body = await readLimited(req, this.#owner.opts.maxPayload);
      if (body === undefined) {
        this.close("transport error");
        return { ok: false, status: 413 };
      }
      for (const packet of decodePayload(body, BINARY_TYPE)) {
        if (packet.type === "error") {
          this.close("parse error");
          return { ok: false, status: 400 };
        }
        this.#onPacket(packet);
        if (this.readyState !== "open") break;
      }
      return { ok: true, body: "ok" };
    } catch {
      this.close("transport error");
      return { ok: false, status: 400 };
    } finally {
      this.#posting = false;
    }
  }

  // --- WebSocket -----------------------------------------------------------------------------

  /** The session listens to its WebSocket itself (handleEvent): no closures per connection. */
  #attach(ws: WebSocket): void {
    this.#ws = ws;
    ws.binaryType = "arraybuffer";
    if (ws.readyState === WebSocket.CONNECTING) ws.addEventListener("open", this, { once: true });
    else this.#live = ws;
    ws.addEventListener("message", this);
    ws.addEventListener("close", this);
  }

  /**
   * The WebSocket's events. Deno follows an error with a close that is not clean, so one
   * listener tells both ends apart.
   */
  handleEvent(event: Event): void {
    if (event.target !== this.#ws) return;
    switch (event.type) {
      case "message":
        return this.#onFrame((event as MessageEvent).data);
      case "open":
        this.#live = this.#ws;
        return this.#sendQueued();
      case "close":
        return this.close((event as CloseEvent).wasClean ? "transport close" : "transport error");
    }
  }

  #onFrame(data: string | ArrayBuffer): void {
    const limit = this.#owner.opts.maxPayload;
    if (byteLength(data, limit) > limit) {
      this.#ws?.close(1009, "message too big");
      return this.close("transport error");
    }
    const raw = typeof data === "string" ? data : new Uint8Array(data);
    this.#onPacket(decodePacket(raw as ParserRawData, BINARY_TYPE));
  }

  /**
   * A WebSocket asking to take over this polling session: `2probe` → `3probe`, the pending GET
   * is released with a noop, and `5` switches. Anything else, or a session that has already
   * switched, gets the socket closed and the session left as it was.
   */
  probe(ws: WebSocket): void {
    if (
      this.transport !== "polling" || this.#upgrade || this.readyState !== "open" || this.#ending
    ) {
      ws.onopen = () => ws.close(1008, "session already upgraded");
      return;
    }
    ws.binaryType = "arraybuffer";
    const abandon = () => {
      const upgrade = this.#upgrade;
      if (upgrade?.ws !== ws) return;
      clearTimeout(upgrade.timer);
      this.#upgrade = undefined;
      if (ws.readyState === WebSocket.OPEN) ws.close(1002, "upgrade failed");
      this.#flushPoll();
    };
    const upgrade: Upgrade = {
      ws,
      probed: false,
      timer: setTimeout(abandon, this.#owner.opts.upgradeTimeout),
    };
    this.#upgrade = upgrade;
    ws.onclose = abandon;
    ws.onerror = abandon;
    ws.onmessage = (event) => {
      const packet = typeof event.data === "string"
        ? decodePacket(event.data, BINARY_TYPE)
        : { type: "error" as const };
      if (this.#ending) {
        // Closing: the last packets wait for the next poll, so no switch now.
        abandon();
      } else if (packet.type === "ping" && packet.data === "probe" && !upgrade.probed) {
        ws.send("3probe");
        upgrade.probed = true;
        this.#releasePoll("noop");
      } else if (packet.type === "upgrade" && upgrade.probed) {
        clearTimeout(upgrade.timer);
        this.#upgrade = undefined;
        this.transport = "websocket";
        this.#releasePoll("noop");
        ws.onclose = ws.onerror = ws.onmessage = null;
        this.#attach(ws);
        this.#sendQueued();
      } else {
        abandon();
      }
    };
  }

  // --- packets and heartbeat -----------------------------------------------------------------

  #onPacket(packet: Packet): void {
    if (this.readyState !== "open") return;
    switch (packet.type) {
      case "message":
        this.listener.onMessage(packet.data as RawData);
        break;
      case "pong":
        this.#awaitingPong = false;
        this.#owner.heartbeat.schedule(this, this.#owner.opts.pingInterval);
        break;
      case "close":
        // The client's own goodbye: a pending poll ends with a noop, not a close packet.
        this.#releasePoll("noop");
        this.close("transport close");
        break;
      case "error":
        this.close("parse error");
        break;
      default:
        // open, ping, upgrade and noop have no meaning from a client on an open session.
        break;
    }
  }

  /**
   * The heartbeat woke this session: pingInterval after the last pong (or the open), ping;
   * pingTimeout after a ping without its pong, close.
   */
  _beat(): void {
    if (this.readyState !== "open") return;
    if (this.#awaitingPong) return this.close("ping timeout");
    this.#awaitingPong = true;
    this.send(PING);
    if (this.readyState === "open") {
      this.#owner.heartbeat.schedule(this, this.#owner.opts.pingTimeout);
    }
  }

  // --- closing -------------------------------------------------------------------------------

  /**
   * Ends the session from the server's side after what is queued has gone out: a polling
   * client gets its queue and a close packet on its next GET (or is dropped after
   * pingTimeout). Everything else closes at once.
   */
  end(reason: CloseReason): void {
    if (this.readyState !== "open" || this.#ending) return;
    const buffer = this.#buffer;
    if (this.transport !== "polling" || !buffer?.length || this.#upgrade?.probed) {
      return this.close(reason);
    }
    buffer.push({ type: "close" });
    this.#ending = {
      reason,
      timer: setTimeout(() => this.close(reason), this.#owner.opts.pingTimeout),
    };
    this.#flushPoll();
  }

  /** Ends the session once; later calls do nothing. */
  close(reason: CloseReason): void {
    if (this.readyState === "closed") return;
    this.readyState = "closed";
    this.#live = undefined;
    this.#owner.heartbeat.cancel(this);
    clearTimeout(this.#upgrade?.timer);
    clearTimeout(this.#ending?.timer);
    this.#buffer = undefined;
    this.#bufferedBytes = 0;
    this.#releasePoll("close");
    const code = reason === "server shutting down" ? 1001 : 1000;
    for (const ws of [this.#ws, this.#upgrade?.ws]) {
      if (ws && ws.readyState <= WebSocket.OPEN) ws.close(code, reason);
    }
    this.#ws = this.#upgrade = undefined;
    this.#settle();
    this.#owner._closed(this);
    this.listener.onClose(reason);
  }
}

/** A frame's size in bytes; a text frame is only encoded when its length leaves it unclear. */
function byteLength(data: string | ArrayBuffer, limit: number): number {
  if (typeof data !== "string") return data.byteLength;
  // UTF-8 takes 1 to 3 bytes per UTF-16 code unit.
  if (data.length > limit || data.length * 3 <= limit) return data.length;
  return new TextEncoder().encode(data).byteLength;
}

/** The request body as text, or undefined when it is longer than `limit` bytes. */
async function readLimited(req: Request, limit: number): Promise<string | undefined> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > limit) {
    await req.body?.cancel();
    return undefined;
  }
  if (!req.body) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of req.body) {
    total += chunk.byteLength;
    if (total > limit) return undefined;
    chunks.push(chunk);
  }
  const all = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(all);
}
