// A minimal WebSocket client over node:net, for the load generator only. Thousands of these
// must cost less than the server they measure, so it does the least a client may: text
// frames out (masked with a zero key: a valid mask that leaves the bytes as they are), frames
// in parsed straight from one shared read buffer (`onread`, no stream objects, no copies
// unless a frame straddles two reads), pings answered, nothing else.
import { randomBytes } from "node:crypto";
import { connect } from "node:net";

const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);
const CRLF2 = Buffer.from("\r\n\r\n");

/**
 * Opens `url` (ws://host:port/path?query). `onText(buf, start, end)` gets each text frame's
 * bytes as a view into a reused buffer: read it at once, do not keep it.
 */
export function openWebSocket(url, { onOpen, onText, onClose }) {
  const { hostname, port, pathname, search } = new URL(url);
  let handshaken = false;
  let pending = null; // bytes of an incomplete frame or handshake
  let closed = false;

  const socket = connect({
    host: hostname,
    port: Number(port),
    noDelay: true,
    onread: { buffer: READ_BUFFER, callback: (n, buf) => void receive(buf, n) },
  });
  socket.on("connect", () => {
    socket.write(
      `GET ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n` +
        `Upgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\n` +
        `Sec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
  const finish = (why) => {
    if (closed) return;
    closed = true;
    onClose?.(why);
  };
  socket.on("error", (err) => finish(err.message));
  socket.on("close", () => finish("closed"));

  function receive(buf, n) {
    let data = buf;
    let start = 0;
    let end = n;
    if (pending !== null) {
      data = Buffer.concat([pending, buf.subarray(0, n)]);
      pending = null;
      end = data.length;
    }
    if (!handshaken) {
      const at = data.subarray(start, end).indexOf(CRLF2);
      if (at < 0) {
        pending = Buffer.from(data.subarray(start, end));
        return;
      }
      if (data.toString("latin1", start, start + 12) !== "HTTP/1.1 101") {
        finish(
          `refused: ${data.toString("latin1", start, start + at).split("\r\n")[0]}`,
        );
        socket.destroy();
        return;
      }
      handshaken = true;
      start += at + 4;
      onOpen?.();
    }
    while (start < end) {
      if (end - start < 2) break;
      const b0 = data[start];
      let len = data[start + 1] & 0x7f;
      let header = 2;
      if (len === 126) {
        if (end - start < 4) break;
        len = data.readUInt16BE(start + 2);
        header = 4;
      } else if (len === 127) {
        if (end - start < 10) break;
        len = Number(data.readBigUInt64BE(start + 2));
        header = 10;
      }
      if (end - start < header + len) break;
      const from = start + header;
      const to = from + len;
      const opcode = b0 & 0x0f;
      if (opcode === 1 || opcode === 0) onText(data, from, to);
      else if (opcode === 9) sendFrame(0x8a, data.subarray(from, to));
      else if (opcode === 8) {
        socket.destroy();
        finish(len >= 2 ? `close frame ${data.readUInt16BE(from)}` : "close frame");
        return;
      }
      start = to;
    }
    if (start < end) pending = Buffer.from(data.subarray(start, end));
  }

  function sendFrame(b0, payload) {
    const len = payload.length;
    let header;
    if (len < 126) {
      header = Buffer.from([b0, 0x80 | len, 0, 0, 0, 0]);
    } else if (len < 65536) {
      header = Buffer.from([b0, 0x80 | 126, len >> 8, len & 0xff, 0, 0, 0, 0]);
    } else {
      header = Buffer.alloc(14);
      header[0] = b0;
      header[1] = 0x80 | 127;
      header.writeBigUInt64BE(BigInt(len), 2);
    }
    socket.write(Buffer.concat([header, payload]));
  }

  return {
    /** Sends one text frame. */
    send(text) {
      if (!closed) sendFrame(0x81, Buffer.from(text));
    },
    close() {
      closed = true;
      socket.destroy();
    },
  };
}
