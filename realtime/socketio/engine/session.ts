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
  url: string;
  /** Lower-case names; one plain object per connection, shared by its namespaces. */
  headers: Record<string, string>;
  query: Record<string, string>;
  address: string;
  secure: boolean;
  time: Date;
}

export type PollResult =
  | { ok: true; body: string }
  | { ok: false; status: 400 | 413 };

type Timer = ReturnType<typeof setTimeout>;

const BINARY_TYPE = "nodebuffer" as unknown as "arraybuffer";

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

export class EngineSession {
  readyState: "open" | "closed" = "open";
  transport: "polling" | "websocket";
  onMessage: (data: RawData) => void = () => {};
  onClose: (reason: CloseReason) => void = () => {};
  /** Called once, when the session stops being pending: established, or closed before. */
  onSettled: () => void = () => {};

  #settled = false;
  #buffer: OutPacket[] = [];
  #bufferedBytes = 0;
  /** Bytes written to the WebSocket since its backlog was last looked at. */
  #unchecked = 0;
  #poll: ((body: string) => void) | undefined;
  #posting = false;
  #ws: WebSocket | undefined;
  #probe: WebSocket | undefined;
  #probed = false;
  #pingTimer: Timer | undefined;
  #pongTimer: Timer | undefined;
  #upgradeTimer: Timer | undefined;
  #ending: { reason: CloseReason; timer: Timer } | undefined;

  constructor(
    readonly id: string,
    readonly request: HandshakeRequest,
    private readonly opts: EngineOptions,
    ws?: WebSocket,
  ) {
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
    this.#schedulePing();
  }

  /** The layer above accepted this session (Socket.IO: it joined a namespace). */
  established(): void {
    this.#settle();
  }

  #settle(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.onSettled();
  }

  // --- sending -------------------------------------------------------------------------------

  /** Queues or writes packets, in order. A client that stops reading is disconnected. */
  send(packets: OutPacket[]): void {
    if (this.readyState !== "open" || this.#ending) return;
    const ws = this.#ws;
    if (ws && this.transport === "websocket" && ws.readyState === WebSocket.OPEN) {
      for (const packet of packets) {
        const frame = encodeFrame(packet);
        ws.send(frame);
        this.#unchecked += typeof frame === "string" ? frame.length : frame.byteLength;
      }
      // Asking the socket for its backlog is a call into the runtime; once per eighth of the
      // bound is often enough to stop a client that does not read.
      if (this.#unchecked >= this.opts.maxBufferedBytes / 8) {
        this.#unchecked = 0;
        if (ws.bufferedAmount > this.opts.maxBufferedBytes) this.close("slow consumer");
      }
      return;
    }
    // Polling, an upgrade in progress, or a WebSocket not open yet: queue.
    for (const packet of packets) {
      this.#buffer.push(packet);
      this.#bufferedBytes += sizeOf(packet.data);
    }
    if (this.#bufferedBytes > this.opts.maxBufferedBytes) return this.close("slow consumer");
    if (this.transport === "polling" && !this.#probed) this.#flushPoll();
  }

  #sendQueued(): void {
    const waiting = this.#buffer;
    this.#buffer = [];
    this.#bufferedBytes = 0;
    this.send(waiting);
  }

  #flushPoll(): void {
    const respond = this.#poll;
    if (!respond || this.#buffer.length === 0) return;
    const packets = this.#buffer as Packet[];
    this.#buffer = [];
    this.#bufferedBytes = 0;
    this.#poll = undefined;
    encodePayload(packets, respond);
    if (this.#ending) this.close(this.#ending.reason);
  }

  /** True when a packet sent now would go out at once rather than wait in the buffer. */
  get writable(): boolean {
    if (this.readyState !== "open") return false;
    if (this.transport === "websocket") return this.#ws?.readyState === WebSocket.OPEN;
    return this.#poll !== undefined && !this.#probed;
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
    if (this.#probed) return { ok: true, body: "6" };
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
      const body = await readLimited(req, this.opts.maxPayload);
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

  #attach(ws: WebSocket): void {
    this.#ws = ws;
    ws.binaryType = "arraybuffer";
    if (ws.readyState === WebSocket.CONNECTING) ws.onopen = () => this.#sendQueued();
    ws.onmessage = (event) => this.#onFrame(event.data);
    ws.onclose = () => this.#ws === ws && this.close("transport close");
    ws.onerror = () => this.#ws === ws && this.close("transport error");
  }

  #onFrame(data: string | ArrayBuffer): void {
    if (byteLength(data, this.opts.maxPayload) > this.opts.maxPayload) {
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
      this.transport !== "polling" || this.#probe || this.readyState !== "open" || this.#ending
    ) {
      ws.onopen = () => ws.close(1008, "session already upgraded");
      return;
    }
    this.#probe = ws;
    ws.binaryType = "arraybuffer";
    const abandon = () => {
      if (this.#probe !== ws) return;
      clearTimeout(this.#upgradeTimer);
      this.#probe = undefined;
      this.#probed = false;
      if (ws.readyState === WebSocket.OPEN) ws.close(1002, "upgrade failed");
      this.#flushPoll();
    };
    this.#upgradeTimer = setTimeout(abandon, this.opts.upgradeTimeout);
    ws.onclose = abandon;
    ws.onerror = abandon;
    ws.onmessage = (event) => {
      const packet = typeof event.data === "string"
        ? decodePacket(event.data, BINARY_TYPE)
        : { type: "error" as const };
      if (this.#ending) {
        // Closing: the last packets wait for the next poll, so no switch now.
        abandon();
      } else if (packet.type === "ping" && packet.data === "probe" && !this.#probed) {
        ws.send("3probe");
        this.#probed = true;
        this.#releasePoll("noop");
      } else if (packet.type === "upgrade" && this.#probed) {
        clearTimeout(this.#upgradeTimer);
        this.#probe = undefined;
        this.#probed = false;
        this.transport = "websocket";
        this.#releasePoll("noop");
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
        this.onMessage(packet.data as RawData);
        break;
      case "pong":
        clearTimeout(this.#pongTimer);
        this.#schedulePing();
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

  #schedulePing(): void {
    clearTimeout(this.#pingTimer);
    this.#pingTimer = setTimeout(() => {
      this.send([{ type: "ping" }]);
      this.#pongTimer = setTimeout(() => this.close("ping timeout"), this.opts.pingTimeout);
    }, this.opts.pingInterval);
  }

  // --- closing -------------------------------------------------------------------------------

  /**
   * Ends the session from the server's side after what is queued has gone out: a polling
   * client gets its queue and a close packet on its next GET (or is dropped after
   * pingTimeout). Everything else closes at once.
   */
  end(reason: CloseReason): void {
    if (this.readyState !== "open" || this.#ending) return;
    if (this.transport !== "polling" || this.#buffer.length === 0 || this.#probed) {
      return this.close(reason);
    }
    this.#buffer.push({ type: "close" });
    this.#ending = { reason, timer: setTimeout(() => this.close(reason), this.opts.pingTimeout) };
    this.#flushPoll();
  }

  /** Ends the session once; later calls do nothing. */
  close(reason: CloseReason): void {
    if (this.readyState === "closed") return;
    this.readyState = "closed";
    clearTimeout(this.#pingTimer);
    clearTimeout(this.#pongTimer);
    clearTimeout(this.#upgradeTimer);
    clearTimeout(this.#ending?.timer);
    this.#buffer = [];
    this.#bufferedBytes = 0;
    this.#releasePoll("close");
    for (const ws of [this.#ws, this.#probe]) {
      if (ws && ws.readyState <= WebSocket.OPEN) {
        ws.close(reason === "server shutting down" ? 1001 : 1000, reason);
      }
    }
    this.#ws = this.#probe = undefined;
    this.#settle();
    this.onClose(reason);
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
