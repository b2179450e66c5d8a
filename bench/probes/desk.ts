// Desk socket probes: a message flood (flood-desk), a Python client's handler arity
// (python-arity), and unauthenticated Engine.IO sessions and CONNECT floods (eio-unauth).
import { api, meetLogin, openDeskRoom, pool, register, tally } from "./http.ts";
import { delay, mb, monitored, round, Service, underLoad, waitIdle } from "./service.ts";
import { sioConnect, type Socket } from "./sio.ts";
import type { Probe } from "./types.ts";

/** The id of the room's newest message (0 for none), read with ?limit=1. */
async function lastDeskId(svc: Service, token: string, room: number): Promise<number> {
  const r = await api(svc.url, "GET", `/api/${room}/messages/?limit=1`, { token });
  return Array.isArray(r.body) && r.body.length > 0 ? r.body[r.body.length - 1].id : 0;
}

const FLOOD = 10_000;

export const floodDesk: Probe = {
  name: "flood-desk",
  about: "one desk socket sends 10,000 messages as fast as it can",
  async run() {
    const svc = await Service.start();
    let socket: Socket | undefined;
    try {
      const student = await register(svc.url, "flooddesk");
      const room = await openDeskRoom(svc.url, student);
      socket = await sioConnect(svc.url, { access_token: student.access, id: student.id }, {
        transports: ["websocket"],
      });
      const before = await lastDeskId(svc, student.access, room);
      let echoes = 0;
      let lastEchoAt = 0;
      const errors: unknown[] = [];
      let disconnect: string | undefined;
      socket.on("message", (m: { text?: string }) => {
        if (m?.text?.startsWith("flood ")) {
          echoes++;
          lastEchoAt = performance.now();
        }
      });
      socket.on("error", (e: unknown) => errors.push(e));
      socket.on("disconnect", (reason: string) => disconnect = reason);
      const rssBefore = svc.rss();
      const cpuBefore = svc.cpu();
      let t0 = 0;
      let emitMs = 0;
      const { monitor } = await monitored(svc, { health: true }, async () => {
        t0 = performance.now();
        for (let i = 0; i < FLOOD; i++) socket!.emit("message", { room, text: `flood ${i}` });
        emitMs = performance.now() - t0;
        // Until every message came back (or was refused), or nothing moved for 3 s.
        let seen = -1;
        let still = performance.now();
        while (echoes + errors.length < FLOOD && performance.now() - still < 3000) {
          await delay(100);
          if (echoes + errors.length !== seen) {
            seen = echoes + errors.length;
            still = performance.now();
          }
          if (performance.now() - t0 > 50_000) break;
        }
      });
      const stored = (await lastDeskId(svc, student.access, room)) - before;
      const seconds = ((lastEchoAt || performance.now()) - t0) / 1000;
      return {
        sent: FLOOD,
        stored,
        echoes,
        refusals: errors.length,
        refusal_sample: errors[0] ?? null,
        disconnect: disconnect ?? null,
        emit_loop_ms: Math.round(emitMs),
        seconds_to_last_echo: round(seconds, 2),
        rate_msg_s: Math.round(stored / seconds),
        server_cpu_s: round(svc.cpu() - cpuBefore, 2),
        ...underLoad(monitor, rssBefore),
      };
    } finally {
      socket?.close();
      await svc.stop();
    }
  },
  line(f) {
    return `${f.stored}/${f.sent} stored (${f.echoes} echoed, ${f.refusals} refusals) at ` +
      `${f.rate_msg_s} msg/s; /healthz max ${f.healthz_max_ms} ms; disconnect ${f.disconnect}`;
  },
};

// --- python-arity ----------------------------------------------------------------------------

const PYTHON_CLIENT = `
import json, sys, threading, time
import socketio

url, token, uid = sys.argv[1], sys.argv[2], int(sys.argv[3])
natural = socketio.Client()
counting = socketio.Client()
result = {"natural_calls": 0, "natural_ok": False, "star_args_counts": [], "star_args_types": []}
got = threading.Event()

@natural.on('message')
def on_message(data):
    result["natural_calls"] += 1
    result["natural_ok"] = True

@counting.on('message')
def on_message_counting(*args):
    result["star_args_counts"].append(len(args))
    result["star_args_types"].append([type(a).__name__ for a in args])
    got.set()

auth = {"access_token": token, "id": uid}
natural.connect(url, auth=auth, wait_timeout=5)
counting.connect(url, auth=auth, wait_timeout=5)
print("READY", flush=True)
got.wait(10)
time.sleep(1.0)
print(json.dumps(result), flush=True)
natural.disconnect()
counting.disconnect()
`;

function pythonPath(): string {
  for (const p of ["/usr/bin/python3", "python3"]) {
    try {
      const out = new Deno.Command(p, {
        args: ["-c", "import socketio, requests"],
        stdout: "null",
        stderr: "null",
      }).outputSync();
      if (out.success) return p;
    } catch { /* not there */ }
  }
  throw new Error(
    "no python3 with socketio and requests (apt-get install python3-socketio " +
      "python3-requests python3-websocket)",
  );
}

export const pythonArity: Probe = {
  name: "python-arity",
  about: "a one-parameter python-socketio handler gets the recovery offset as a 2nd argument",
  async run() {
    const python = pythonPath();
    const svc = await Service.start();
    let js: Socket | undefined;
    const dir = await Deno.makeTempDir({ prefix: "chat-probe-py-" });
    try {
      const student = await register(svc.url, "python");
      const room = await openDeskRoom(svc.url, student);
      const second = await meetLogin(svc.url, student.email);
      await Deno.writeTextFile(`${dir}/client.py`, PYTHON_CLIENT);
      const child = new Deno.Command(python, {
        args: [`${dir}/client.py`, svc.url, student.access, String(student.id)],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stderrText = new Response(child.stderr).text();
      // stdout is read as it comes: the clients print READY once both are connected.
      let out = "";
      const ready = Promise.withResolvers<boolean>();
      const stdoutDone = (async () => {
        const decoder = new TextDecoder();
        for await (const chunk of child.stdout) {
          out += decoder.decode(chunk, { stream: true });
          if (out.includes("READY")) ready.resolve(true);
        }
        ready.resolve(false);
      })();
      const readyTimer = setTimeout(() => ready.resolve(false), 15_000);
      const wasReady = await ready.promise;
      clearTimeout(readyTimer);
      js = await sioConnect(svc.url, { access_token: second.access, id: student.id });
      if (wasReady) js.emit("message", { room, text: "hello from the JS client" });
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 25_000);
      const status = await child.status;
      clearTimeout(timer);
      await stdoutDone;
      const err = await stderrText;
      const resultLine = out.split("\n").find((l) => l.startsWith("{"));
      const result = resultLine ? JSON.parse(resultLine) : {};
      const typeError = /TypeError[^\n]*/.exec(err)?.[0];
      return {
        python,
        python_exit: status.code,
        ready_printed: wasReady,
        natural_handler_calls_ok: result.natural_calls ?? null,
        natural_handler_type_error: typeError !== undefined,
        type_error: typeError ?? null,
        star_args_counts: result.star_args_counts ?? null,
        star_args_types: result.star_args_types ?? null,
        stderr_tail: err.trim().split("\n").slice(-3).join(" | ").slice(0, 400),
      };
    } finally {
      js?.close();
      await svc.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
  line(f) {
    return `natural one-parameter handler ran ${f.natural_handler_calls_ok} time(s), TypeError: ` +
      `${f.natural_handler_type_error}${f.type_error ? ` (${f.type_error})` : ""}; ` +
      `*args handler got ${JSON.stringify(f.star_args_counts)} args`;
  },
};

// --- eio-unauth ------------------------------------------------------------------------------

const HANDSHAKES = 2_000;
const CONNECTS = 1_500;

export const eioUnauth: Probe = {
  name: "eio-unauth",
  about: "Engine.IO sessions without CONNECT pile up; one POST runs authentication 1,500 times",
  async run() {
    let svc = await Service.start();
    try {
      const user = await register(svc.url, "eio");
      await delay(500);
      const rssBefore = svc.rss();
      const t0 = performance.now();
      const statuses = await pool(HANDSHAKES, 64, async () => {
        try {
          const r = await fetch(`${svc.url}/socket.io/?EIO=4&transport=polling`);
          const body = await r.text();
          return r.status === 200 && body.startsWith("0{") ? "open" : String(r.status);
        } catch {
          return "error";
        }
      });
      const handshakeSeconds = (performance.now() - t0) / 1000;
      await delay(1000);
      const rssAfterHandshakes = svc.rss();
      // A fresh process for the second part: a capped server still holds the pending sessions.
      svc = await svc.restart();

      // One session, one POST carrying 1,500 CONNECT packets.
      const open = await fetch(`${svc.url}/socket.io/?EIO=4&transport=polling`);
      const openBody = await open.text();
      const sid = JSON.parse(openBody.slice(1)).sid as string;
      const packet = `40${JSON.stringify({ access_token: user.access })}`;
      const body = Array.from({ length: CONNECTS }, () => packet).join("\x1e");
      await waitIdle(svc.pid, { quietMs: 300, maxMs: 5000 });
      const cpuBefore = svc.cpu();
      const p0 = performance.now();
      const post = await fetch(`${svc.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
        method: "POST",
        headers: { "content-type": "text/plain;charset=UTF-8" },
        body,
      });
      const postText = await post.text();
      const postMs = performance.now() - p0;
      const idle = await waitIdle(svc.pid, { quietMs: 500, maxMs: 30_000 });
      const cpuUsed = idle.cpu - cpuBefore;
      // What came back on the session: CONNECT answers.
      const ctrl = new AbortController();
      const timer = setTimeout(() => ctrl.abort(), 3000);
      let replies = "";
      try {
        const poll = await fetch(`${svc.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
          signal: ctrl.signal,
        });
        replies = await poll.text();
      } catch { /* nothing within 3 s */ }
      clearTimeout(timer);
      const packets = replies.split("\x1e");
      // Control: a POST with one CONNECT on a fresh session.
      const open2 = await fetch(`${svc.url}/socket.io/?EIO=4&transport=polling`);
      const sid2 = JSON.parse((await open2.text()).slice(1)).sid as string;
      await waitIdle(svc.pid, { quietMs: 300, maxMs: 5000 });
      const cpuControl0 = svc.cpu();
      const one = await fetch(`${svc.url}/socket.io/?EIO=4&transport=polling&sid=${sid2}`, {
        method: "POST",
        headers: { "content-type": "text/plain;charset=UTF-8" },
        body: packet,
      });
      await one.body?.cancel();
      const controlIdle = await waitIdle(svc.pid, { quietMs: 500, maxMs: 10_000 });
      return {
        handshakes: HANDSHAKES,
        handshake_results: tally(statuses),
        handshake_seconds: round(handshakeSeconds, 2),
        rss_before_mb: mb(rssBefore),
        rss_after_handshakes_mb: mb(rssAfterHandshakes),
        rss_delta_mb: round(mb(rssAfterHandshakes) - mb(rssBefore)),
        connect_packets_in_post: CONNECTS,
        post_body_bytes: body.length,
        post_status: post.status,
        post_answer: postText.slice(0, 40),
        post_ms: Math.round(postMs),
        server_cpu_s_after_post: round(cpuUsed, 2),
        ms_until_server_idle: idle.waitedMs + Math.round(postMs),
        connect_ok_replies: packets.filter((p) => p.startsWith("40{")).length,
        connect_error_replies: packets.filter((p) => p.startsWith("44")).length,
        control_one_connect_post_status: one.status,
        control_one_connect_cpu_s: round(controlIdle.cpu - cpuControl0, 2),
      };
    } finally {
      await svc.stop();
    }
  },
  line(f) {
    return `${JSON.stringify(f.handshake_results)} of ${f.handshakes} handshakes in ` +
      `${f.handshake_seconds}s, RSS +${f.rss_delta_mb} MB; POST of ${f.connect_packets_in_post}` +
      ` CONNECTs: ${f.post_ms} ms, server CPU ${f.server_cpu_s_after_post}s, ` +
      `${f.connect_ok_replies} CONNECT answers`;
  },
};
