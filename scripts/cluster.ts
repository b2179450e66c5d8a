// `deno task cluster [N]`: a local cluster to try several nodes out. N nodes (2 by default) of
// main.ts on one database (DATABASE_URL, ./data/chat.db by default) and one Redis: REDIS_URL if
// set, otherwise a redis-server started here on a free port (nothing saved). The nodes listen on
// consecutive ports from PORT (8000 by default); their URLs are printed. Ctrl-C stops them all.
// Every other variable is passed to the nodes as it is.

const DEFAULT_NODES = 2;
const PERMISSIONS = [
  "--allow-net",
  "--allow-env",
  "--allow-read",
  "--allow-write",
  "--allow-ffi",
  "--allow-sys",
];

function usage(message: string): never {
  console.error(`${message}\nusage: deno task cluster [nodes (1-16, default ${DEFAULT_NODES})]`);
  Deno.exit(2);
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function reachable(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(what: string, check: () => Promise<boolean>, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const count = Deno.args[0] === undefined ? DEFAULT_NODES : Number(Deno.args[0]);
if (!Number.isInteger(count) || count < 1 || count > 16) usage(`bad node count: ${Deno.args[0]}`);
const basePort = Number(Deno.env.get("PORT") ?? 8000);
if (!Number.isInteger(basePort) || basePort < 1 || basePort + count - 1 > 65535) {
  usage(`bad PORT: ${Deno.env.get("PORT")}`);
}

const children: { name: string; process: Deno.ChildProcess }[] = [];
let redisUrl = Deno.env.get("REDIS_URL");
let redisDir: string | undefined;

if (!redisUrl) {
  const port = freePort();
  redisDir = await Deno.makeTempDir({ prefix: "chat-cluster-redis-" });
  let redis: Deno.ChildProcess;
  try {
    redis = new Deno.Command("redis-server", {
      args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      cwd: redisDir,
      stdout: "null",
      stderr: "inherit",
    }).spawn();
  } catch (error) {
    console.error(
      `could not start redis-server (${error}); install it (apt-get install redis-server) ` +
        "or set REDIS_URL to a running Redis",
    );
    Deno.exit(1);
  }
  children.push({ name: "redis", process: redis });
  await waitUntil("redis-server", () => reachable(port));
  redisUrl = `redis://127.0.0.1:${port}`;
  console.log(`redis:  ${redisUrl} (started here, nothing saved)`);
} else {
  console.log(`redis:  REDIS_URL`);
}

let stopping = false;
async function stopAll(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    // Nodes first (each takes its users back in Redis), Redis last.
    for (const { process } of children.filter((c) => c.name !== "redis").reverse()) {
      try {
        process.kill("SIGTERM");
      } catch {
        // Ended already.
      }
    }
    await Promise.all(children.filter((c) => c.name !== "redis").map((c) => c.process.status));
    for (const { process } of children.filter((c) => c.name === "redis")) {
      try {
        process.kill("SIGTERM");
      } catch {
        // Ended already.
      }
      await process.status;
    }
    if (redisDir) await Deno.remove(redisDir, { recursive: true }).catch(() => {});
  }
  Deno.exit(code);
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => void stopAll(0));
}

const main = new URL("../main.ts", import.meta.url).pathname;
function startNode(index: number): Deno.ChildProcess {
  const port = basePort + index;
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSIONS, main],
    env: { PORT: String(port), REDIS_URL: redisUrl! },
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  children.push({ name: `node ${index + 1}`, process });
  process.status.then((status) => {
    if (stopping) return;
    console.error(`node ${index + 1} (port ${port}) exited with ${status.code}; stopping all`);
    void stopAll(1);
  });
  return process;
}

async function ready(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    const body = await res.json();
    return body.status === "ready";
  } catch {
    return false;
  }
}

try {
  // The first node applies the migrations; the others start on a migrated database.
  startNode(0);
  await waitUntil(`node 1 on port ${basePort}`, () => ready(basePort), 60_000);
  for (let i = 1; i < count; i++) startNode(i);
  for (let i = 1; i < count; i++) {
    await waitUntil(`node ${i + 1} on port ${basePort + i}`, () => ready(basePort + i), 60_000);
  }
} catch (error) {
  console.error(String(error));
  await stopAll(1);
}
console.log(`\n${count} nodes on one database and one Redis:`);
for (let i = 0; i < count; i++) console.log(`  node ${i + 1}: http://localhost:${basePort + i}`);
console.log("Ctrl-C stops them all.");
