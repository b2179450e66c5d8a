// A room's whole history in one response: GET /api/{room}/messages/ (desk) and
// GET /api/rooms/{id}/messages/ (meet) with no paging parameters, over 20,000 messages.
// The rows are written straight into the libSQL file while the service is stopped (the
// service's own migrations made the schema), then the service is started again over it.
import Database from "libsql";
import { api, createMeetRoom, openDeskRoom, register } from "./http.ts";
import { delay, mb, monitored, round, Service } from "./service.ts";
import type { Figures, Probe } from "./types.ts";

const N = 20_000;
const BODY_CHARS = 500;
const PARALLEL = 4;

function seed(dbPath: string, rooms: number[], authorId: number): void {
  const db = new Database(dbPath);
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    db.exec("BEGIN");
    const insert = db.prepare(
      "INSERT INTO messages (room_id, author_id, body, created_at) VALUES (?, ?, ?, ?)",
    );
    const start = Date.now() - N * 1000;
    for (const room of rooms) {
      for (let i = 0; i < N; i++) {
        const body = `${room}/${i} ` +
          "lorem ipsum dolor sit amet ".repeat(20).slice(0, BODY_CHARS);
        insert.run(room, authorId, body, start + i * 50);
      }
      db.prepare(
        "UPDATE rooms SET last_message_id = (SELECT MAX(id) FROM messages WHERE room_id = ?), " +
          "last_activity_at = ? WHERE id = ?",
      ).run(room, Date.now(), room);
    }
    db.exec("COMMIT");
  } finally {
    db.close();
  }
}

async function measure(svc: Service, path: string, token: string): Promise<Figures> {
  await delay(1000);
  const rssBefore = svc.rss();
  const single = await monitored(svc, {}, () => api(svc.url, "GET", path, { token }));
  await delay(1000);
  const rssAfter = svc.rss();
  const parallel = await monitored(
    svc,
    { health: true },
    () => Promise.all(Array.from({ length: PARALLEL }, () => api(svc.url, "GET", path, { token }))),
  );
  await delay(1000);
  const rssAfterParallel = svc.rss();
  return {
    path,
    status: single.result.status,
    messages_returned: Array.isArray(single.result.body) ? single.result.body.length : null,
    response_bytes: single.result.bytes,
    response_mb: mb(single.result.bytes),
    ms: Math.round(single.result.ms),
    rss_before_mb: mb(rssBefore),
    rss_peak_mb: single.monitor.rss_max_mb,
    rss_after_mb: mb(rssAfter),
    parallel: PARALLEL,
    parallel_statuses: parallel.result.map((r) => r.status),
    parallel_slowest_ms: Math.round(Math.max(...parallel.result.map((r) => r.ms))),
    parallel_rss_peak_mb: parallel.monitor.rss_max_mb,
    parallel_rss_after_mb: mb(rssAfterParallel),
    parallel_healthz_max_ms: parallel.monitor.health_max_ms,
    parallel_healthz_p50_ms: parallel.monitor.health_p50_ms,
    parallel_healthz_samples: parallel.monitor.health_samples,
  };
}

export const history: Probe = {
  name: "history",
  about: "a room's whole history (20,000 messages) is built in memory for one response",
  async run() {
    const setup = await Service.start();
    const dir = setup.dir;
    let svc: Service | undefined;
    try {
      const student = await register(setup.url, "history");
      const deskRoom = await openDeskRoom(setup.url, student);
      const meetRoom = await createMeetRoom(setup.url, student);
      const env = setup.env;
      await setup.stop(true);
      const s0 = performance.now();
      seed(`${dir}/chat.db`, [deskRoom, meetRoom], student.id);
      const seedSeconds = (performance.now() - s0) / 1000;
      svc = await Service.start({ dir, env });
      const desk = await measure(svc, `/api/${deskRoom}/messages/`, student.access);
      // A fresh process for the meet face, so its figures start from the same baseline.
      await svc.stop();
      svc = await Service.start({ dir, env });
      const meet = await measure(svc, `/api/rooms/${meetRoom}/messages/`, student.access);
      return {
        messages_per_room: N,
        body_chars: BODY_CHARS,
        seed_seconds: round(seedSeconds, 1),
        desk,
        meet,
      };
    } finally {
      await svc?.stop();
      await setup.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
  line(f) {
    const part = (name: string) => {
      const r = f[name] as Figures;
      return `${name}: ${r.messages_returned} msgs, ${r.response_mb} MB in ${r.ms} ms, RSS ` +
        `${r.rss_before_mb}→${r.rss_peak_mb}→${r.rss_after_mb} MB; x${r.parallel}: peak ` +
        `${r.parallel_rss_peak_mb} MB, /healthz max ${r.parallel_healthz_max_ms} ms`;
    };
    return `${part("desk")}; ${part("meet")}`;
  },
};
