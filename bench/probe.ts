// Black-box probes of the service: each starts `deno run -A main.ts` as a child process on a
// free port over a temp directory, talks to it only over HTTP, Socket.IO, raw WebSockets and
// TCP, reads its RSS and CPU from /proc/<pid>, and prints one result per probe: a short human
// line and a JSON object with the figures. The same script measures any later version.
//
//   deno run -A bench/probe.ts all              every probe, one after another
//   deno run -A bench/probe.ts history flood-desk
//   deno run -A bench/probe.ts login-race --json   JSON lines only
//   deno run -A bench/probe.ts --list
//   PROBE_ENV_HISTORY_MAX=40000 deno run -A bench/probe.ts history   (a setting for every server)
import { eioUnauth, floodDesk, pythonArity } from "./probes/desk.ts";
import { history } from "./probes/history.ts";
import { loginCpu, loginRace, refreshTwice } from "./probes/auth.ts";
import { floodMeet, logSpam, meetBackpressure, meetOriginalClient } from "./probes/meet.ts";
import { recoveryLog, recoveryLogout } from "./probes/recovery.ts";
import { stopAll } from "./probes/service.ts";
import type { Figures, Probe } from "./probes/types.ts";

const PROBES: Probe[] = [
  recoveryLogout,
  history,
  meetBackpressure,
  floodDesk,
  floodMeet,
  recoveryLog,
  loginRace,
  loginCpu,
  pythonArity,
  refreshTwice,
  meetOriginalClient,
  eioUnauth,
  logSpam,
];

/** A probe that has not finished by then is abandoned (its service is stopped). */
const PROBE_TIMEOUT_MS = 120_000;

const args = Deno.args.filter((a) => !a.startsWith("--"));
const json = Deno.args.includes("--json");

if (Deno.args.includes("--list") || args.length === 0) {
  console.log("usage: deno run -A bench/probe.ts <name...|all> [--json]\n");
  for (const p of PROBES) console.log(`  ${p.name.padEnd(22)} ${p.about}`);
  Deno.exit(args.length === 0 && !Deno.args.includes("--list") ? 2 : 0);
}

const chosen = args.includes("all") ? PROBES : args.map((name) => {
  const probe = PROBES.find((p) => p.name === name);
  if (!probe) {
    console.error(`unknown probe "${name}"; --list shows them`);
    Deno.exit(2);
  }
  return probe;
});

// A probe abandoned on timeout may still reject somewhere; that must not end the run.
globalThis.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  console.error(`(ignored) unhandled rejection: ${event.reason}`);
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => stopAll().finally(() => Deno.exit(130)));
}

let failed = 0;
for (const probe of chosen) {
  const t0 = performance.now();
  let figures: Figures;
  let ok = true;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`timed out after ${PROBE_TIMEOUT_MS / 1000} s`)),
        PROBE_TIMEOUT_MS,
      );
    });
    figures = await Promise.race([probe.run(), timeout]);
  } catch (err) {
    ok = false;
    failed++;
    figures = { error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
    await stopAll();
  }
  const seconds = Math.round((performance.now() - t0) / 100) / 10;
  const result = { probe: probe.name, ok, probe_seconds: seconds, ...figures };
  if (!json) {
    let human: string;
    try {
      human = ok ? probe.line(figures) : `FAILED: ${figures.error}`;
    } catch (err) {
      human = `(no summary: ${err})`;
    }
    console.log(`[${probe.name}] ${human}`);
  }
  console.log(JSON.stringify(result));
}
Deno.exit(failed > 0 ? 1 : 0);
