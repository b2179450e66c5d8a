// An experiment, not a server to use: the bare broadcast of ceiling.ts on a WebSocket layer of
// its own over Deno.listen. Each broadcast's frame bytes are built once and the same bytes are
// written to every socket, so a delivery costs one write and nothing else. It answers "would
// our own WebSocket layer beat Deno.upgradeWebSocket's per-send cost?" (see BENCHMARKS.md).
// Minimal on purpose: text frames up to 64 KiB, no fragmentation, no ping, no close handshake.
//   deno run -A bench/servers/ceiling_tcp.ts
import { memoryStats } from "./stats.ts";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const rooms = new Map<string, Set<Peer>>();

/** Writes in order; a write that is still pending queues the next ones. */
class Peer {
  #queue: Uint8Array[] = [];
  #busy = false;
  constructor(readonly conn: Deno.Conn) {}

  send(bytes: Uint8Array): void {
    if (this.#busy) {
      this.#queue.push(bytes);
      return;
    }
    this.#busy = true;
    this.#drain(bytes).catch(() => this.conn.close());
  }

  async #drain(first: Uint8Array): Promise<void> {
    let next: Uint8Array | undefined = first;
    while (next) {
      let offset = 0;
      while (offset < next.length) offset += await this.conn.write(next.subarray(offset));
      next = this.#queue.shift();
    }
    this.#busy = false;
  }
}

function frame(payload: Uint8Array): Uint8Array {
  const header = payload.length < 126 ? 2 : 4;
  const out = new Uint8Array(header + payload.length);
  out[0] = 0x81;
  if (header === 2) out[1] = payload.length;
  else {
    out[1] = 126;
    out[2] = payload.length >> 8;
    out[3] = payload.length & 0xff;
  }
  out.set(payload, header);
  return out;
}

async function acceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", encoder.encode(key + GUID));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

async function serve(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(64 * 1024);
  let filled = 0;
  let head = "";
  while (!head.includes("\r\n\r\n")) {
    const n = await conn.read(buf.subarray(filled));
    if (n === null) return conn.close();
    filled += n;
    head = decoder.decode(buf.subarray(0, filled));
  }
  const [requestLine] = head.split("\r\n");
  const path = requestLine.split(" ")[1] ?? "/";
  if (path.startsWith("/bench/stats")) {
    const body = JSON.stringify(memoryStats(path.includes("gc=1")));
    await conn.write(encoder.encode(
      `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n` +
        `Connection: close\r\n\r\n${body}`,
    ));
    return conn.close();
  }
  const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1];
  if (!key) return conn.close();
  await conn.write(encoder.encode(
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${await acceptKey(key)}\r\n\r\n`,
  ));
  const name = new URL(path, "http://x").searchParams.get("room") ?? "";
  let room = rooms.get(name);
  if (!room) rooms.set(name, room = new Set());
  const peer = new Peer(conn);
  room.add(peer);
  let start = head.indexOf("\r\n\r\n") + 4;
  try {
    while (true) {
      // Client frames: masked, payload < 64 KiB.
      while (filled - start >= 2) {
        let len = buf[start + 1] & 0x7f;
        let at = start + 2;
        if (len === 126) {
          if (filled - start < 4) break;
          len = (buf[start + 2] << 8) | buf[start + 3];
          at = start + 4;
        }
        if (filled - at < 4 + len) break;
        const mask = buf.subarray(at, at + 4);
        const payload = buf.slice(at + 4, at + 4 + len);
        for (let i = 0; i < len; i++) payload[i] ^= mask[i & 3];
        if ((buf[start] & 0x0f) === 8) return;
        if ((buf[start] & 0x0f) === 1) {
          const bytes = frame(payload);
          for (const p of room) p.send(bytes);
        }
        start = at + 4 + len;
      }
      buf.copyWithin(0, start, filled);
      filled -= start;
      start = 0;
      const n = await conn.read(buf.subarray(filled));
      if (n === null) return;
      filled += n;
    }
  } catch {
    // reset by the peer
  } finally {
    room.delete(peer);
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
console.log(JSON.stringify({ port: (listener.addr as Deno.NetAddr).port, pid: Deno.pid }));
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => Deno.exit(0));
}
for await (const conn of listener) serve(conn);
