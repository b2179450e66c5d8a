// Socket.IO connection state recovery on the desk socket: a dropped session comes back with
// only its pid (recovery-logout), and the broadcast log it keeps (recovery-log).
import { type Account, api, openDeskRoom, register, teacher } from "./http.ts";
import { EngineIoSocket } from "./rawws.ts";
import { delay, mb, monitored, round, Service } from "./service.ts";
import { emitAck, sioConnect, type Socket } from "./sio.ts";
import type { Figures, Probe } from "./types.ts";

const HOST = "127.0.0.1";

/** Connects a raw Engine.IO socket and sends CONNECT with `auth`; the reply packet too. */
async function rawConnect(svc: Service, auth: Record<string, unknown>) {
  const eio = await EngineIoSocket.connect(HOST, svc.port);
  const reply = await eio.connectNamespace(auth);
  let data: Record<string, unknown> = {};
  try {
    data = reply ? JSON.parse(reply.slice(2)) : {};
  } catch { /* not JSON */ }
  const connected = reply !== undefined && reply.startsWith("40") && typeof data.sid === "string";
  return { eio, reply, data, connected };
}

async function recoverAfter(
  svc: Service,
  variant: "logout" | "deactivate",
  tutor: Account,
  tutorSocket: Socket,
): Promise<Figures> {
  const student = await register(svc.url, `rec${variant}`);
  const room = await openDeskRoom(svc.url, student);
  const joined = await emitAck(tutorSocket, "join_room", { room });

  const first = await rawConnect(svc, {
    access_token: student.access,
    id: student.id,
    recover: true,
  });
  if (!first.connected) throw new Error(`first connect refused: ${first.reply}`);
  const pid = first.data.pid;
  await delay(200);
  first.eio.abort(); // TCP dropped, no close frame, no DISCONNECT packet
  await delay(500);

  let endStatus: number;
  if (variant === "logout") {
    // The desk page flow: the session cookie is the access token.
    endStatus = (await api(svc.url, "GET", "/logout/", {
      headers: { cookie: `session=${student.access}` },
    })).status;
  } else {
    endStatus = (await api(svc.url, "DELETE", "/auth/profile/", { token: student.access })).status;
  }
  const restAfter = (await api(svc.url, "GET", "/api/room/", { token: student.access })).status;

  const second = await rawConnect(svc, { pid });
  let receivesRoomMessage: boolean | undefined;
  let ownSend: unknown;
  if (second.connected) {
    const text = `after-${variant}-${crypto.randomUUID().slice(0, 8)}`;
    await emitAck(tutorSocket, "message", { room, text });
    receivesRoomMessage = (await second.eio.event(
      "message",
      (m) => (m as { text?: string })?.text === text,
      3000,
    )) !== undefined;
    const ack = await second.eio.emitWithAck("message", {
      room,
      text: `from-recovered-${variant}`,
    });
    const reply = ack?.[0] as { id?: number; error?: { detail?: string } } | undefined;
    ownSend = reply === undefined
      ? "no ack"
      : reply.id !== undefined
      ? `stored as message ${reply.id}`
      : `refused: ${reply.error?.detail}`;
  }
  // Control: the same revoked token, presented normally.
  const third = await rawConnect(svc, {
    access_token: student.access,
    id: student.id,
    recover: true,
  });
  for (const c of [second, third]) c.eio.abort();
  return {
    tutor_joined: (joined as { joined?: boolean })?.joined ?? joined,
    end_status: endStatus,
    rest_with_token_after: restAfter,
    pid_only_connect_reply: second.reply?.slice(0, 120),
    pid_only_connected: second.connected,
    pid_only_recovered_same_sid: second.connected && second.data.sid === first.data.sid,
    receives_room_message: receivesRoomMessage ?? false,
    recovered_socket_send: ownSend ?? null,
    token_connect_reply: third.reply?.slice(0, 120),
    tutor: tutor.id,
  };
}

export const recoveryLogout: Probe = {
  name: "recovery-logout",
  about: "a dropped desk socket recovers by pid alone after logout / deactivation",
  async run() {
    const svc = await Service.start();
    try {
      const tutor = await teacher(svc);
      const tutorSocket = await sioConnect(svc.url, { access_token: tutor.access, id: tutor.id });
      try {
        const logout = await recoverAfter(svc, "logout", tutor, tutorSocket);
        const deactivate = await recoverAfter(svc, "deactivate", tutor, tutorSocket);
        return { logout, deactivate };
      } finally {
        tutorSocket.close();
      }
    } finally {
      await svc.stop();
    }
  },
  line(f) {
    const part = (name: string) => {
      const r = f[name] as Figures;
      return `${name}: end ${r.end_status}, REST after ${r.rest_with_token_after}, ` +
        `pid-only connect ${r.pid_only_connected ? "ACCEPTED" : "refused"}, ` +
        `receives room message ${r.receives_room_message}, own send ${r.recovered_socket_send}`;
    };
    return `${part("logout")}; ${part("deactivate")}`;
  },
};

// --- recovery-log ----------------------------------------------------------------------------

const LOG_MESSAGES = 20_000;
const LOG_TEXT_CHARS = 3_900;
const WINDOW_S = 5;
const QUIET_S = 34;
const AFTER_ONE_MORE_S = 20;

/**
 * RSS every 500 ms for `ms` (stopping early once below `floor`): the minimum, when it was
 * seen, the last value, a value at a given time, and a coarse trace (every 2 s, MB).
 */
async function rssTrace(svc: Service, ms: number, floor = 0) {
  const t0 = performance.now();
  const samples: { t: number; rss: number }[] = [];
  while (performance.now() - t0 < ms) {
    samples.push({ t: performance.now() - t0, rss: svc.rss() });
    if (samples[samples.length - 1].rss < floor) break;
    await delay(500);
  }
  let min = samples[0];
  for (const s of samples) if (s.rss < min.rss) min = s;
  return {
    min: min.rss,
    minAt: min.t,
    last: samples[samples.length - 1].rss,
    at: (t: number) => (samples.find((s) => s.t >= t) ?? samples[samples.length - 1]).rss,
    trace: samples.filter((_, i) => i % 4 === 0).map((s) => mb(s.rss)),
  };
}

export const recoveryLog: Probe = {
  name: "recovery-log",
  about: "the recovery log is trimmed only when a new broadcast goes out",
  async run() {
    const svc = await Service.start({ env: { SOCKETIO_RECOVERY_WINDOW: `${WINDOW_S}s` } });
    const sockets: Socket[] = [];
    try {
      const student = await register(svc.url, "reclog");
      const tutor = await teacher(svc);
      const room = await openDeskRoom(svc.url, student);
      const ws = { transports: ["websocket"] };
      const sender = await sioConnect(
        svc.url,
        { access_token: student.access, id: student.id, recover: true },
        ws,
      );
      const other = await sioConnect(svc.url, {
        access_token: tutor.access,
        id: tutor.id,
        recover: true,
      }, ws);
      sockets.push(sender, other);
      await emitAck(other, "join_room", { room });
      let received = 0;
      other.on("message", () => received++);
      let disconnects = 0;
      for (const s of sockets) s.on("disconnect", () => disconnects++);
      await delay(1000);
      const rssBefore = svc.rss();

      const filler = "x".repeat(LOG_TEXT_CHARS - 12);
      let acked = 0;
      let refused = 0;
      const t0 = performance.now();
      const { monitor } = await monitored(svc, {}, async () => {
        // Pipelined: at most 256 sends in flight, each acknowledged with the stored message.
        let next = 0;
        const lane = async () => {
          while (next < LOG_MESSAGES && disconnects === 0) {
            const i = next++;
            const ack = await emitAck(sender, "message", {
              room,
              text: `${String(i).padStart(10, "0")}: ${filler}`,
            }, 30_000) as { id?: number };
            if (ack?.id !== undefined) acked++;
            else refused++;
          }
        };
        await Promise.all(Array.from({ length: 256 }, lane));
        const deadline = performance.now() + 10_000;
        while (received < acked && performance.now() < deadline) await delay(50);
      });
      const sendSeconds = (performance.now() - t0) / 1000;
      const receivedAfterSend = received;
      const rssAfterSend = svc.rss();
      // Quiet: no message at all. V8 gives unused heap back to the system by itself some
      // 25-30 s after a burst; what it cannot give back is what is still referenced.
      const quiet = await rssTrace(svc, QUIET_S * 1000);
      // One more broadcast prunes the log; then a shorter wait for V8 to give memory back (it
      // may or may not shrink its heap again within it: a secondary figure).
      await emitAck(sender, "message", { room, text: "one more" });
      const after = await rssTrace(svc, AFTER_ONE_MORE_S * 1000, quiet.min - 50 * 1024 * 1024);
      return {
        messages: LOG_MESSAGES,
        text_chars: LOG_TEXT_CHARS,
        recovery_window_s: WINDOW_S,
        acked,
        refused,
        received_by_other: receivedAfterSend,
        disconnects,
        send_seconds: round(sendSeconds, 1),
        rss_before_mb: mb(rssBefore),
        rss_peak_mb: monitor.rss_max_mb,
        rss_after_send_mb: mb(rssAfterSend),
        rss_window_end_plus_3s_mb: mb(quiet.at(WINDOW_S * 1000 + 3000)),
        quiet_s: QUIET_S,
        rss_min_during_quiet_mb: mb(quiet.min),
        rss_end_of_quiet_mb: mb(quiet.last),
        rss_min_after_one_more_message_mb: mb(after.min),
        seconds_to_that_min: round(after.minAt / 1000, 1),
        rss_trace_quiet_mb: quiet.trace,
        rss_trace_after_one_more_mb: after.trace,
      };
    } finally {
      for (const s of sockets) s.close();
      await svc.stop();
    }
  },
  line(f) {
    return `${f.acked}/${f.messages} acked in ${f.send_seconds}s; RSS before ${f.rss_before_mb} ` +
      `MB, after send ${f.rss_after_send_mb}, window end+3s ${f.rss_window_end_plus_3s_mb}, ` +
      `lowest in ${f.quiet_s}s quiet ${f.rss_min_during_quiet_mb}; after one more message ` +
      `${f.rss_min_after_one_more_message_mb} MB`;
  },
};
