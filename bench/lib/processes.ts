// Starting the servers and the generator on their own cores, and stopping them again.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
export const NODE_DIR = join(BENCH_DIR, "node");

/** Server on one core, generator on the other; unpinned where taskset is missing. */
export interface Pinning {
  server: string[];
  generator: string[];
}

export async function pinning(): Promise<Pinning | undefined> {
  const cores = navigator.hardwareConcurrency;
  if (cores < 2 || !await commandExists("taskset")) return undefined;
  return { server: ["taskset", "-c", "1"], generator: ["taskset", "-c", "0"] };
}

export async function commandExists(name: string): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("sh", {
      args: ["-c", `command -v ${name}`],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

export async function commandOutput(cmd: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    return new TextDecoder().decode(out.stdout).trim();
  } catch {
    return "";
  }
}

/** What a bench server says once it listens. */
export interface ServerInfo {
  port: number;
  pid: number;
  statsPort?: number;
  clientsFile?: string;
  db?: string;
}

export interface RunningServer {
  info: ServerInfo;
  stop(): Promise<void>;
}

/** Runs `argv` under the pinning with the open-files limit raised to its hard limit. */
function pinned(prefix: string[], argv: string[]): Deno.Command {
  const quoted = [...prefix, ...argv].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
  return new Deno.Command("sh", {
    args: ["-c", `ulimit -n $(ulimit -Hn); exec ${quoted}`],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  });
}

async function firstJsonLine(stream: ReadableStream<Uint8Array>): Promise<ServerInfo> {
  const decoder = new TextDecoder();
  let buffered = "";
  const reader = stream.getReader();
  while (true) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the server exited before it listened");
    buffered += decoder.decode(value, { stream: true });
    for (const line of buffered.split("\n").slice(0, -1)) {
      if (line.startsWith("{")) {
        // Keep draining so the server never blocks on a full pipe.
        (async () => {
          try {
            while (!(await reader.read()).done) { /* discard */ }
          } catch { /* closed */ }
        })();
        return JSON.parse(line);
      }
    }
  }
}

export async function startServer(
  prefix: string[],
  argv: string[],
  startTimeoutMs = 120_000,
): Promise<RunningServer> {
  const child = pinned(prefix, argv).spawn();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`server did not start: ${argv.join(" ")}`)),
      startTimeoutMs,
    );
  });
  let info: ServerInfo;
  try {
    info = await Promise.race([firstJsonLine(child.stdout), timeout]);
    clearTimeout(timer);
  } catch (err) {
    clearTimeout(timer);
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    throw err;
  }
  return {
    info,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const killer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 5000);
      await child.status;
      clearTimeout(killer);
    },
  };
}

/** Runs the generator with `task`; its JSON result, or an error it reported. */
export async function runGenerator(
  prefix: string[],
  task: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const child = pinned(prefix, ["node", join(NODE_DIR, "generator.mjs"), JSON.stringify(task)])
    .spawn();
  const out = await new Response(child.stdout).text();
  const status = await child.status;
  const line = out.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line);
  } catch {
    return { error: `generator exited ${status.code} without a result` };
  }
}

/** A fresh redis-server for a cluster scenario, pinned like the servers, no persistence. */
export async function startRedis(prefix: string[]): Promise<RunningServer & { url: string }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const argv = ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", ""];
  const quoted = [...prefix, ...argv].map((a) => `'${a}'`).join(" ");
  const child = new Deno.Command("sh", {
    args: ["-c", `exec ${quoted}`],
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error("redis-server did not start");
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    info: { port, pid: child.pid },
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
    },
  };
}
