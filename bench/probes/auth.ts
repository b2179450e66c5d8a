// Logins and tokens: the failure throttle under parallel attempts (login-race), the hashing
// cost of a login storm (login-cpu), and refresh-token reuse (refresh-twice).
import { api, meetLogin, pool, register, tally } from "./http.ts";
import { monitored, round, Service, underLoad, waitIdle } from "./service.ts";
import type { Probe } from "./types.ts";

const RACE = 40;
const RACE_ROUNDS = 3;

/** One round: a fresh account, RACE wrong passwords at once, then one more attempt. */
async function raceRound(svc: Service) {
  const user = await register(svc.url, "race");
  const username = user.email.split("@")[0];
  const wrong = () =>
    api(svc.url, "POST", "/api/token/", { body: { username, password: "wrong-password-123" } });
  const replies = await Promise.all(Array.from({ length: RACE }, wrong));
  const next = await wrong();
  return {
    count_401: replies.filter((r) => r.status === 401).length,
    count_429: replies.filter((r) => r.status === 429).length,
    statuses: tally(replies.map((r) => r.status)),
    next_attempt_status: next.status,
  };
}

export const loginRace: Probe = {
  name: "login-race",
  about: "parallel wrong-password logins all pass the failure throttle's check",
  async run() {
    // PASSWORD_ITERATIONS=1000 (cheap hashing, a narrow race window), a few rounds...
    const cheap = await Service.start();
    const rounds = [];
    try {
      for (let i = 0; i < RACE_ROUNDS; i++) rounds.push(await raceRound(cheap));
    } finally {
      await cheap.stop();
    }
    // ...and the default 870,000 iterations, where each attempt spends ~0.1 s CPU hashing.
    const real = await Service.start({ env: { PASSWORD_ITERATIONS: undefined } });
    let atDefault;
    try {
      atDefault = await raceRound(real);
    } finally {
      await real.stop();
    }
    return {
      parallel_attempts: RACE,
      login_max_failures: 10,
      rounds_at_1000_iterations: rounds,
      max_401_at_1000_iterations: Math.max(...rounds.map((r) => r.count_401)),
      at_default_iterations: atDefault,
    };
  },
  line(f) {
    const rounds = f.rounds_at_1000_iterations as { count_401: number; count_429: number }[];
    const d = f.at_default_iterations as { count_401: number; count_429: number };
    return `${f.parallel_attempts} parallel wrong logins (limit ${f.login_max_failures}): ` +
      `${rounds.map((r) => `${r.count_401}×401/${r.count_429}×429`).join(", ")} at 1000 ` +
      `iterations; ${d.count_401}×401/${d.count_429}×429 at the default`;
  },
};

const STORM = 100;

export const loginCpu: Probe = {
  name: "login-cpu",
  about: "100 parallel logins for unknown names at the default 870,000 PBKDF2 iterations",
  async run() {
    const svc = await Service.start({ env: { PASSWORD_ITERATIONS: undefined } });
    try {
      await waitIdle(svc.pid, { quietMs: 500, maxMs: 5000 });
      const cpuBefore = svc.cpu();
      const rssBefore = svc.rss();
      const t0 = performance.now();
      const { result, monitor } = await monitored(
        svc,
        { health: true },
        () =>
          pool(STORM, STORM, (i) =>
            api(svc.url, "POST", "/api/token/", {
              body: { username: `nobody${i}-${crypto.randomUUID()}`, password: "not-a-password" },
            })),
      );
      const wall = (performance.now() - t0) / 1000;
      const cpuUsed = svc.cpu() - cpuBefore;
      const times = result.map((r) => r.ms).sort((a, b) => a - b);
      return {
        password_iterations: "default (870000)",
        logins: STORM,
        statuses: tally(result.map((r) => r.status)),
        count_429: result.filter((r) => r.status === 429).length,
        count_503: result.filter((r) => r.status === 503).length,
        wall_seconds: round(wall, 2),
        server_cpu_seconds: round(cpuUsed, 2),
        cpu_ms_per_login: Math.round(cpuUsed * 1000 / STORM),
        fastest_login_ms: Math.round(times[0]),
        slowest_login_ms: Math.round(times[times.length - 1]),
        ...underLoad(monitor, rssBefore),
      };
    } finally {
      await svc.stop();
    }
  },
  line(f) {
    return `${f.logins} logins in ${f.wall_seconds}s wall, ${f.server_cpu_seconds}s server CPU; ` +
      `/healthz max ${f.healthz_max_ms} ms; ${JSON.stringify(f.statuses)}`;
  },
};

export const refreshTwice: Probe = {
  name: "refresh-twice",
  about: "presenting the same refresh token twice revokes the whole session",
  async run() {
    const svc = await Service.start();
    try {
      const user = await register(svc.url, "refresh");
      // Sequential: a client following the documents keeps its refresh token.
      const s1 = await meetLogin(svc.url, user.email);
      const first = await api(svc.url, "POST", "/auth/token/refresh/", {
        body: { refresh: s1.refresh },
      });
      const second = await api(svc.url, "POST", "/auth/token/refresh/", {
        body: { refresh: s1.refresh },
      });
      const loginAccess = await api(svc.url, "GET", "/auth/profile/", { token: s1.access });
      const newAccess = first.body?.access
        ? (await api(svc.url, "GET", "/auth/profile/", { token: first.body.access })).status
        : null;
      // Parallel: two tabs refreshing at the same moment.
      const s2 = await meetLogin(svc.url, user.email);
      const both = await Promise.all(
        [0, 1].map(() =>
          api(svc.url, "POST", "/auth/token/refresh/", { body: { refresh: s2.refresh } })
        ),
      );
      const s2Access = await api(svc.url, "GET", "/auth/profile/", { token: s2.access });
      const winners = both.filter((r) => r.status === 200);
      const winnerAccess = winners[0]?.body?.access
        ? (await api(svc.url, "GET", "/auth/profile/", { token: winners[0].body.access })).status
        : null;
      return {
        sequential_statuses: [first.status, second.status],
        first_reply_keys: first.body && typeof first.body === "object"
          ? Object.keys(first.body)
          : null,
        second_reply: second.body,
        login_access_after: loginAccess.status,
        refreshed_access_after: newAccess,
        session_revoked: loginAccess.status === 401,
        parallel_statuses: both.map((r) => r.status),
        parallel_login_access_after: s2Access.status,
        parallel_winner_access_after: winnerAccess,
      };
    } finally {
      await svc.stop();
    }
  },
  line(f) {
    return `same refresh twice: ${JSON.stringify(f.sequential_statuses)}, login's access then ` +
      `${f.login_access_after} (revoked ${f.session_revoked}); parallel: ` +
      `${JSON.stringify(f.parallel_statuses)}, access then ${f.parallel_login_access_after}`;
  },
};
