// A WebSocket client over a plain TCP connection, written by hand: the handshake, masked
// frames out, frames in. It can do what a browser client cannot: never read, or drop the
// connection without a close frame. EngineIoSocket speaks Engine.IO v4 / Socket.IO v5 over it.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface Frame {
  opcode: number;
  data: Uint8Array;
}

export interface DrainResult {
  bytes: number;
  /** The server ended the TCP connection. */
  eof: boolean;
  /** Code of a close frame the server sent, if any. */
  closeCode?: number;
  frames: number;
  ms: number;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.byteLength === 0) return b;
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}

/** One masked client frame. */
export function encodeFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const len = payload.byteLength;
  const headLen = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = new Uint8Array(headLen + 4 + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = 0x80 | len;
  else if (len < 65536) {
    out[1] = 0x80 | 126;
    new DataView(out.buffer).setUint16(2, len);
  } else {
    out[1] = 0x80 | 127;
    new DataView(out.buffer).setBigUint64(2, BigInt(len));
  }
  const mask = crypto.getRandomValues(new Uint8Array(4));
  out.set(mask, headLen);
  const body = headLen + 4;
  for (let i = 0; i < len; i++) out[body + i] = payload[i] ^ mask[i & 3];
  return out;
}

export class RawWebSocket {
  /** HTTP status of the handshake answer (101 when upgraded). */
  status = 0;
  responseHead = "";
  closed = false;
  closeCode: number | undefined;
  #pending: Uint8Array = new Uint8Array(0);
  #reading = false;
  #texts: string[] = [];
  #waiters: { pred: (t: string) => boolean; resolve: (t: string | undefined) => void }[] = [];
  onText: ((text: string) => boolean | void) | undefined;

  private constructor(readonly conn: Deno.TcpConn) {}

  /** Connects and upgrades `path`; check `status` (a refusal leaves it at 4xx). */
  static async open(
    host: string,
    port: number,
    path: string,
    headers: Record<string, string> = {},
  ): Promise<RawWebSocket> {
    const conn = await Deno.connect({ hostname: host, port });
    const ws = new RawWebSocket(conn);
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    const lines = [
      `GET ${path} HTTP/1.1`,
      `Host: ${host}:${port}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Key: ${key}`,
      "Sec-WebSocket-Version: 13",
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      "",
      "",
    ];
    await ws.#writeAll(encoder.encode(lines.join("\r\n")));
    // Read only up to the end of the head; frames that follow stay unread in the kernel.
    let head: Uint8Array = new Uint8Array(0);
    const chunk = new Uint8Array(4096);
    while (true) {
      const n = await conn.read(chunk);
      if (n === null) break;
      head = concat(head, chunk.slice(0, n));
      const text = decoder.decode(head);
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) {
        const headBytes = encoder.encode(text.slice(0, end + 4)).byteLength;
        ws.#pending = head.slice(headBytes);
        ws.responseHead = text.slice(0, end);
        ws.status = Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0);
        break;
      }
    }
    return ws;
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.byteLength) off += await this.conn.write(bytes.subarray(off));
  }

  /** Sends one text frame; resolves once the kernel took all of it. */
  sendText(text: string): Promise<void> {
    return this.#writeAll(encodeFrame(0x1, encoder.encode(text)));
  }

  sendFrameBytes(frame: Uint8Array): Promise<void> {
    return this.#writeAll(frame);
  }

  /** Drops the TCP connection without a close frame. */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }

  /** Parses complete frames out of `#pending`; with `keep` false their payloads are skipped. */
  #frames(keep: boolean): Frame[] {
    const out: Frame[] = [];
    let buf = this.#pending;
    let off = 0;
    while (buf.byteLength - off >= 2) {
      const b0 = buf[off];
      const b1 = buf[off + 1];
      let len = b1 & 0x7f;
      let head = 2;
      if (len === 126) {
        if (buf.byteLength - off < 4) break;
        len = (buf[off + 2] << 8) | buf[off + 3];
        head = 4;
      } else if (len === 127) {
        if (buf.byteLength - off < 10) break;
        len = Number(new DataView(buf.buffer, buf.byteOffset + off + 2, 8).getBigUint64(0));
        head = 10;
      }
      if (b1 & 0x80) head += 4; // a server never masks, but be lenient
      if (buf.byteLength - off < head + len) break;
      const opcode = b0 & 0x0f;
      const data = keep || opcode === 0x8 || opcode === 0x9
        ? buf.slice(off + head, off + head + len)
        : new Uint8Array(0);
      out.push({ opcode, data });
      off += head + len;
    }
    if (off > 0) buf = buf.slice(off);
    this.#pending = buf;
    return out;
  }

  #control(frame: Frame): void {
    if (frame.opcode === 0x8) {
      this.closeCode = frame.data.byteLength >= 2 ? (frame.data[0] << 8) | frame.data[1] : 1005;
    } else if (frame.opcode === 0x9) {
      this.#writeAll(encodeFrame(0xA, frame.data)).catch(() => {});
    }
  }

  /** Reads in the background; text frames go to `onText` (true = consumed) or the queue. */
  startReading(): void {
    if (this.#reading) return;
    this.#reading = true;
    (async () => {
      const chunk = new Uint8Array(256 * 1024);
      const take = () => {
        for (const frame of this.#frames(true)) {
          this.#control(frame);
          // The service never fragments its frames; each text frame is one message.
          if (frame.opcode === 0x1) this.#deliver(decoder.decode(frame.data));
        }
      };
      take();
      try {
        while (true) {
          const n = await this.conn.read(chunk);
          if (n === null) break;
          this.#pending = concat(this.#pending, chunk.slice(0, n));
          take();
        }
      } catch {
        // Reset or closed by us.
      }
      this.closed = true;
      for (const w of this.#waiters.splice(0)) w.resolve(undefined);
    })();
  }

  #deliver(text: string): void {
    if (this.onText?.(text) === true) return;
    const i = this.#waiters.findIndex((w) => w.pred(text));
    if (i >= 0) {
      const [w] = this.#waiters.splice(i, 1);
      w.resolve(text);
    } else {
      this.#texts.push(text);
    }
  }

  /** The next text frame matching `pred` (queued or arriving), or undefined after `ms`. */
  next(pred: (text: string) => boolean = () => true, ms = 3000): Promise<string | undefined> {
    const i = this.#texts.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.#texts.splice(i, 1)[0]);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiter = {
        pred,
        resolve: (t: string | undefined) => {
          clearTimeout(timer);
          resolve(t);
        },
      };
      const timer = setTimeout(() => {
        const at = this.#waiters.indexOf(waiter);
        if (at >= 0) this.#waiters.splice(at, 1);
        resolve(undefined);
      }, ms);
      this.#waiters.push(waiter);
    });
  }

  /** Every text frame queued so far (and empties the queue). */
  takeAll(): string[] {
    return this.#texts.splice(0);
  }

  /**
   * Reads everything the server sent (never started reading before), skipping payloads, until
   * the server ends the connection or nothing arrives for `idleMs` (at most `maxMs`).
   */
  async drain(idleMs = 2000, maxMs = 30_000): Promise<DrainResult> {
    const t0 = performance.now();
    let bytes = this.#pending.byteLength;
    let frames = 0;
    let eof = false;
    const chunk = new Uint8Array(1024 * 1024);
    const count = () => {
      for (const frame of this.#frames(false)) {
        frames++;
        this.#control(frame);
      }
    };
    count();
    while (performance.now() - t0 < maxMs) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const idle = new Promise<"idle">((r) => timer = setTimeout(() => r("idle"), idleMs));
      let n: number | null | "idle";
      try {
        n = await Promise.race([this.conn.read(chunk), idle]);
      } catch {
        n = null; // reset by the server
      }
      clearTimeout(timer);
      if (n === "idle") break;
      if (n === null) {
        eof = true;
        break;
      }
      bytes += n;
      this.#pending = concat(this.#pending, chunk.slice(0, n));
      count();
    }
    return {
      bytes,
      eof,
      closeCode: this.closeCode,
      frames,
      ms: Math.round(performance.now() - t0),
    };
  }
}

/** Engine.IO v4 over a raw WebSocket, with Socket.IO v5 packets on top; pings are answered. */
export class EngineIoSocket {
  open: Record<string, unknown> = {};
  #ackId = 0;

  private constructor(readonly ws: RawWebSocket) {
    ws.onText = (text) => {
      if (text === "2") {
        ws.sendText("3").catch(() => {});
        return true;
      }
    };
  }

  static async connect(host: string, port: number, path = "/socket.io/"): Promise<EngineIoSocket> {
    const ws = await RawWebSocket.open(host, port, `${path}?EIO=4&transport=websocket`);
    if (ws.status !== 101) throw new Error(`Engine.IO upgrade answered ${ws.status}`);
    const eio = new EngineIoSocket(ws);
    ws.startReading();
    const open = await ws.next((t) => t.startsWith("0"), 5000);
    if (!open) throw new Error("no Engine.IO open packet");
    eio.open = JSON.parse(open.slice(1));
    return eio;
  }

  /**
   * Sends CONNECT for the default namespace with `auth`; the reply packet: `40{...}` (connected)
   * or `44{...}` (refused), or undefined when none came.
   */
  async connectNamespace(auth: Record<string, unknown>, ms = 5000): Promise<string | undefined> {
    await this.ws.sendText(`40${JSON.stringify(auth)}`);
    return await this.ws.next((t) => t.startsWith("40") || t.startsWith("44"), ms);
  }

  /** The next event `name` whose first argument matches `pred`: its arguments. */
  async event(
    name: string,
    pred: (arg: unknown) => boolean = () => true,
    ms = 3000,
  ): Promise<unknown[] | undefined> {
    const text = await this.ws.next((t) => {
      if (!t.startsWith("42")) return false;
      try {
        const [event, first] = JSON.parse(t.slice(2));
        return event === name && pred(first);
      } catch {
        return false;
      }
    }, ms);
    return text === undefined ? undefined : JSON.parse(text.slice(2)).slice(1);
  }

  /** Emits `name` with an ack; the ack's arguments or undefined after `ms`. */
  async emitWithAck(name: string, data: unknown, ms = 5000): Promise<unknown[] | undefined> {
    const id = ++this.#ackId;
    await this.ws.sendText(`42${id}${JSON.stringify([name, data])}`);
    const text = await this.ws.next((t) => t.startsWith(`43${id}[`), ms);
    return text === undefined ? undefined : JSON.parse(text.slice(2 + String(id).length));
  }

  abort(): void {
    this.ws.abort();
  }
}
