// Meet WebSocket probes: a receiver that never reads (meet-backpressure), a chat flood
// (flood-meet), the original React client's frames and paths (meet-original-client), and
// malformed frames against the log (log-spam).
import { type Account, api, createMeetRoom, register } from "./http.ts";
import { encodeFrame, RawWebSocket } from "./rawws.ts";
import { delay, mb, monitored, round, Service, underLoad, waitIdle } from "./service.ts";
import type { Probe } from "./types.ts";

const HOST = "127.0.0.1";

// deno-lint-ignore no-explicit-any
type Json = any;

/** A meet socket (Deno's own WebSocket client) whose frames are queued for waits. */
class MeetWs {
  frames: Json[] = [];
  closeCode: number | undefined;
  #waiters: { pred: (f: Json) => boolean; resolve: (f: Json) => void }[] = [];
  onFrame: ((f: Json) => void) | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.onmessage = (e) => {
      let frame: Json;
      try {
        frame = JSON.parse(String(e.data));
      } catch {
        frame = String(e.data);
      }
      this.onFrame?.(frame);
      const i = this.#waiters.findIndex((w) => w.pred(frame));
      if (i >= 0) this.#waiters.splice(i, 1)[0].resolve(frame);
      else if (this.onFrame === undefined) this.frames.push(frame);
    };
    ws.onclose = (e) => this.closeCode = e.code;
  }

  static open(svc: Service, room: number, who: Account): Promise<MeetWs> {
    const ws = new WebSocket(
      `ws://${HOST}:${svc.port}/ws/chat/${room}/?token=${encodeURIComponent(who.access)}`,
    );
    return new Promise((resolve, reject) => {
      ws.onopen = () => resolve(new MeetWs(ws));
      ws.onerror = () => reject(new Error("meet WebSocket refused"));
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** The next frame matching `pred` (queued or arriving), or undefined after `ms`. */
  next(pred: (f: Json) => boolean, ms = 2000): Promise<Json | undefined> {
    const i = this.frames.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.frames.splice(i, 1)[0]);
    return new Promise((resolve) => {
      const waiter = {
        pred,
        resolve: (f: Json) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        resolve(undefined);
      }, ms);
      this.#waiters.push(waiter);
    });
  }

  close(): void {
    try {
      this.ws.close();
    } catch { /* closed */ }
  }
}

async function lastMeetId(svc: Service, token: string, room: number): Promise<number> {
  const r = await api(svc.url, "GET", `/api/rooms/${room}/messages/?limit=1`, { token });
  return Array.isArray(r.body) && r.body.length > 0 ? r.body[r.body.length - 1].id : 0;
}

// --- meet-backpressure -----------------------------------------------------------------------

const SIGNALS = 2_000;
const SDP_CHARS = 60_000;

export const meetBackpressure: Probe = {
  name: "meet-backpressure",
  about: "signals relayed to a receiver that never reads are buffered without limit",
  async run() {
    const svc = await Service.start();
    const sockets: RawWebSocket[] = [];
    try {
      const a = await register(svc.url, "senda");
      const b = await register(svc.url, "sinkb");
      const room = await createMeetRoom(svc.url, a);
      const path = (who: Account) => `/ws/chat/${room}/?token=${encodeURIComponent(who.access)}`;
      const sink = await RawWebSocket.open(HOST, svc.port, path(b));
      sockets.push(sink);
      if (sink.status !== 101) throw new Error(`B's upgrade answered ${sink.status}`);
      const sender = await RawWebSocket.open(HOST, svc.port, path(a));
      sockets.push(sender);
      if (sender.status !== 101) throw new Error(`A's upgrade answered ${sender.status}`);
      sender.startReading(); // A reads (it gets nothing); B never does
      await delay(500);
      const sdp = "v=0\r\n" + "a=candidate:1 1 udp 2122260223 10.0.0.1 49152 typ host\r\n"
        .repeat(Math.ceil(SDP_CHARS / 56)).slice(0, SDP_CHARS - 5);
      const frame = JSON.stringify({ type: "webrtc-offer", offer: { type: "offer", sdp } });
      const rssBefore = svc.rss();
      const t0 = performance.now();
      let sendSeconds = 0;
      const { monitor } = await monitored(svc, { health: true }, async () => {
        const bytes = encodeFrame(0x1, new TextEncoder().encode(frame));
        for (let i = 0; i < SIGNALS && !sender.closed; i++) await sender.sendFrameBytes(bytes);
        sendSeconds = (performance.now() - t0) / 1000;
        await waitIdle(svc.pid, { quietMs: 500, maxMs: 20_000 });
      });
      const rssAfterSend = svc.rss();
      await delay(2000);
      const rssAfter2s = svc.rss();
      // Only now does B read: everything the server kept for it, and whether it was closed.
      const drained = await sink.drain(3000, 40_000);
      await delay(1000);
      const rssAfterDrain = svc.rss();
      return {
        signals: SIGNALS,
        frame_bytes: frame.length,
        offered_mb: mb(SIGNALS * frame.length),
        send_seconds: round(sendSeconds, 2),
        sender_closed: sender.closed,
        sender_close_code: sender.closeCode ?? null,
        rss_before_mb: mb(rssBefore),
        rss_peak_mb: monitor.rss_max_mb,
        rss_after_send_mb: mb(rssAfterSend),
        rss_2s_later_mb: mb(rssAfter2s),
        rss_after_b_drained_mb: mb(rssAfterDrain),
        healthz_max_ms: monitor.health_max_ms,
        b_closed_by_server: drained.eof || drained.closeCode !== undefined,
        b_eof: drained.eof,
        b_close_code: drained.closeCode ?? null,
        b_bytes_drained_mb: mb(drained.bytes),
        b_frames_drained: drained.frames,
      };
    } finally {
      for (const s of sockets) s.abort();
      await svc.stop();
    }
  },
  line(f) {
    return `${f.signals}×${f.frame_bytes} B signals to a reader that never reads: RSS ` +
      `${f.rss_before_mb}→peak ${f.rss_peak_mb}→${f.rss_2s_later_mb} MB; B closed by server: ` +
      `${f.b_closed_by_server} (drained ${f.b_bytes_drained_mb} MB, ${f.b_frames_drained} frames)`;
  },
};

// --- flood-meet ------------------------------------------------------------------------------

const FLOOD = 10_000;

export const floodMeet: Probe = {
  name: "flood-meet",
  about: "one meet socket sends 10,000 chat messages as fast as it can",
  async run() {
    const svc = await Service.start();
    let ws: MeetWs | undefined;
    try {
      const a = await register(svc.url, "floodmeet");
      const room = await createMeetRoom(svc.url, a);
      ws = await MeetWs.open(svc, room, a);
      const before = await lastMeetId(svc, a.access, room);
      let echoes = 0;
      let other = 0;
      let lastEchoAt = 0;
      ws.onFrame = (f) => {
        if (typeof f?.content === "string" && f.content.startsWith("flood ")) {
          echoes++;
          lastEchoAt = performance.now();
        } else other++;
      };
      const cpuBefore = svc.cpu();
      const rssBefore = svc.rss();
      let t0 = 0;
      let sendMs = 0;
      const { monitor } = await monitored(svc, { health: true }, async () => {
        t0 = performance.now();
        for (let i = 0; i < FLOOD; i++) ws!.send({ content: `flood ${i}` });
        sendMs = performance.now() - t0;
        let seen = -1;
        let still = performance.now();
        while (echoes < FLOOD && performance.now() - still < 3000) {
          await delay(100);
          if (echoes !== seen) {
            seen = echoes;
            still = performance.now();
          }
          if (performance.now() - t0 > 50_000) break;
        }
      });
      const stored = (await lastMeetId(svc, a.access, room)) - before;
      const seconds = ((lastEchoAt || performance.now()) - t0) / 1000;
      return {
        sent: FLOOD,
        stored,
        echoes,
        other_frames: other,
        refusals: other,
        socket_close_code: ws.closeCode ?? null,
        send_loop_ms: Math.round(sendMs),
        seconds_to_last_echo: round(seconds, 2),
        rate_msg_s: Math.round(stored / seconds),
        server_cpu_s: round(svc.cpu() - cpuBefore, 2),
        ...underLoad(monitor, rssBefore),
      };
    } finally {
      ws?.close();
      await svc.stop();
    }
  },
  line(f) {
    return `${f.stored}/${f.sent} stored (${f.echoes} echoed, ${f.refusals} refusals) at ` +
      `${f.rate_msg_s} msg/s; /healthz max ${f.healthz_max_ms} ms; close ${f.socket_close_code}`;
  },
};

// --- meet-original-client --------------------------------------------------------------------

export const meetOriginalClient: Probe = {
  name: "meet-original-client",
  about: "the original React client's frame shapes and later auth paths",
  async run() {
    const svc = await Service.start();
    const sockets: MeetWs[] = [];
    try {
      const a = await register(svc.url, "origa");
      const b = await register(svc.url, "origb");
      const room = await createMeetRoom(svc.url, a);
      const wa = await MeetWs.open(svc, room, a);
      const wb = await MeetWs.open(svc, room, b);
      sockets.push(wa, wb);
      await delay(300);
      // Control: the documented shape, an `offer` object.
      wa.send({ type: "webrtc-offer", offer: { type: "offer", sdp: "v=0 control" } });
      const control = await wb.next((f) => f?.offer?.sdp === "v=0 control", 2000);
      // The original client: a top-level sdp string and its own sender_id.
      const original = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\n";
      wa.send({ type: "webrtc-offer", sdp: original, sender_id: 123 });
      const relayed = await wb.next((f) => f?.type === "webrtc-offer" && f?.sdp === original, 2000);
      wa.send({ type: "webrtc-answer", sdp: original, sender_id: 123 });
      const answer = await wb.next((f) => f?.type === "webrtc-answer", 2000);

      // Later versions' auth paths, and confirm_password.
      const email = `orig${crypto.randomUUID().slice(0, 8)}@example.com`;
      const regLater = await api(svc.url, "POST", "/api/auth/register/", {
        body: { email, name: "Later Client", password: a.password, confirm_password: a.password },
      });
      const loginLater = await api(svc.url, "POST", "/api/auth/login/", {
        body: { email: a.email, password: a.password },
      });
      const email2 = `orig${crypto.randomUUID().slice(0, 8)}@example.com`;
      const regConfirm = await api(svc.url, "POST", "/auth/register/", {
        body: { email: email2, name: "Later Client", password: a.password, confirm_password: "x" },
      });

      // A chat frame with a client_id, sent three times (a client retrying).
      for (let i = 0; i < 3; i++) wa.send({ content: "x", client_id: "c1" });
      let echoes = 0;
      while (await wa.next((f) => f?.content === "x", 1500)) echoes++;
      const hist = await api(svc.url, "GET", `/api/rooms/${room}/messages/`, { token: a.access });
      const stored = Array.isArray(hist.body)
        ? hist.body.filter((m: Json) => m.content === "x").length
        : null;
      return {
        control_offer_relayed: control !== undefined,
        original_offer_relayed: relayed !== undefined,
        original_answer_relayed: answer !== undefined,
        api_auth_register_status: regLater.status,
        api_auth_login_status: loginLater.status,
        auth_register_with_mismatched_confirm_password_status: regConfirm.status,
        client_id_frames_sent: 3,
        client_id_echoes: echoes,
        client_id_messages_stored: stored,
      };
    } finally {
      for (const s of sockets) s.close();
      await svc.stop();
    }
  },
  line(f) {
    return `original offer relayed ${f.original_offer_relayed} (control ${f.control_offer_relayed})` +
      `, answer ${f.original_answer_relayed}; POST /api/auth/register/ ` +
      `${f.api_auth_register_status}, /api/auth/login/ ${f.api_auth_login_status}; same ` +
      `client_id ×3 → ${f.client_id_messages_stored} stored`;
  },
};

// --- log-spam --------------------------------------------------------------------------------

const MALFORMED = 10_000;

export const logSpam: Probe = {
  name: "log-spam",
  about: "every malformed meet frame writes a warn log line",
  async run() {
    const svc = await Service.start({ env: { LOG_LEVEL: "warn" } });
    let ws: MeetWs | undefined;
    try {
      const a = await register(svc.url, "spam");
      const room = await createMeetRoom(svc.url, a);
      ws = await MeetWs.open(svc, room, a);
      await delay(500);
      const lines0 = svc.logLines;
      const bytes0 = svc.logBytes;
      const cpu0 = svc.cpu();
      const t0 = performance.now();
      for (let i = 0; i < MALFORMED; i++) ws.send("not json");
      // Frames are handled in order, so once this one is echoed every bad one was handled.
      ws.send({ content: "sentinel" });
      const sentinel = await ws.next((f) => f?.content === "sentinel", 30_000);
      const seconds = (performance.now() - t0) / 1000;
      await delay(500);
      return {
        malformed_frames: MALFORMED,
        log_level: "warn",
        handled: sentinel !== undefined,
        log_lines: svc.logLines - lines0,
        log_bytes: svc.logBytes - bytes0,
        lines_per_frame: round((svc.logLines - lines0) / MALFORMED, 2),
        seconds: round(seconds, 2),
        server_cpu_s: round(svc.cpu() - cpu0, 2),
        socket_open: ws.closeCode === undefined,
        sample_line: svc.tail().at(-1)?.slice(0, 200) ?? null,
      };
    } finally {
      ws?.close();
      await svc.stop();
    }
  },
  line(f) {
    return `${f.malformed_frames} malformed frames → ${f.log_lines} log lines (${f.log_bytes} B)` +
      ` at LOG_LEVEL=warn; socket open ${f.socket_open}`;
  },
};
