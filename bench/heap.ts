// Where the JS heap goes per idle connection: starts a bench server with the inspector on,
// connects N clients (10 per room, as the idle scenario does), takes a heap snapshot before and
// after, and prints the growth per connection by kind of object (largest first).
//   deno run -A bench/heap.ts [ours|ceiling] [N=2000]
const [kind = "ours", count = "2000"] = Deno.args;
const N = Number(count);
const inspect = 9300 + Math.floor(Math.random() * 500);
const server = new URL(`./servers/${kind === "ceiling" ? "ceiling" : "ours"}.ts`, import.meta.url);
const child = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "-A",
    `--inspect=127.0.0.1:${inspect}`,
    "--v8-flags=--expose-gc",
    server.pathname,
    '{"mode":"broadcast"}',
  ],
  stdout: "piped",
  stderr: "null",
}).spawn();
const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
let first = "";
while (!first.includes("\n")) first += (await lines.read()).value ?? "";
const { port } = JSON.parse(first.split("\n")[0]);

const [target] = await (await fetch(`http://127.0.0.1:${inspect}/json/list`)).json();
const inspector = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((resolve) => inspector.onopen = resolve);
let nextId = 0;
const waiting = new Map<number, (result: unknown) => void>();
let chunks: string[] = [];
inspector.onmessage = (event) => {
  const message = JSON.parse(event.data);
  if (message.method === "HeapProfiler.addHeapSnapshotChunk") chunks.push(message.params.chunk);
  else waiting.get(message.id)?.(message.result);
};
function call(method: string, params = {}): Promise<unknown> {
  const id = ++nextId;
  inspector.send(JSON.stringify({ id, method, params }));
  return new Promise((resolve) => waiting.set(id, resolve));
}

type Totals = Map<string, { count: number; size: number }>;
/** Self sizes summed by node type and name (strings together). */
async function snapshot(): Promise<{ totals: Totals; heapUsed: number }> {
  const { heapUsed } = await (await fetch(`http://127.0.0.1:${port}/bench/stats?gc=1`)).json();
  chunks = [];
  await call("HeapProfiler.enable");
  await call("HeapProfiler.collectGarbage");
  await call("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
  const snap = JSON.parse(chunks.join(""));
  const fields: string[] = snap.snapshot.meta.node_fields;
  const types: string[] = snap.snapshot.meta.node_types[0];
  const [type, name, size] = ["type", "name", "self_size"].map((f) => fields.indexOf(f));
  const totals: Totals = new Map();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const t = types[snap.nodes[i + type]];
    const label = t.includes("string") ? "(strings)" : String(snap.strings[snap.nodes[i + name]]);
    const key = `${t}: ${label.slice(0, 60)}`;
    const entry = totals.get(key) ?? { count: 0, size: 0 };
    entry.count++;
    entry.size += snap.nodes[i + size];
    totals.set(key, entry);
  }
  return { totals, heapUsed };
}

try {
  await measure();
} finally {
  // SIGKILL: a server with an inspector session attached may not act on SIGTERM.
  inspector.close();
  child.kill("SIGKILL");
  await child.status;
}
Deno.exit(0);

async function measure(): Promise<void> {
  const before = await snapshot();
  const sockets: WebSocket[] = [];
  const all = Promise.withResolvers<void>();
  let connected = 0;
  for (let i = 0; i < N; i++) {
    const room = `r${Math.floor(i / 10)}`;
    const ws = new WebSocket(
      kind === "ceiling"
        ? `ws://127.0.0.1:${port}/?room=${room}`
        : `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`,
    );
    const joined = () => ++connected === N && all.resolve();
    if (kind === "ceiling") ws.onopen = joined;
    ws.onmessage = (event) => {
      const data = String(event.data);
      if (data[0] === "0") ws.send(`40${JSON.stringify({ room })}`);
      else if (data.startsWith("40")) joined();
      else if (data === "2") ws.send("3");
    };
    sockets.push(ws);
    if (i % 100 === 99) await new Promise((r) => setTimeout(r, 20));
  }
  await all.promise;
  await new Promise((r) => setTimeout(r, 1000));
  const after = await snapshot();

  console.log(
    `${kind}: ${N} connections, heapUsed ${
      ((after.heapUsed - before.heapUsed) / N).toFixed(0)
    } B each`,
  );
  const rows: [string, number, number][] = [];
  for (const [key, a] of after.totals) {
    const b = before.totals.get(key) ?? { count: 0, size: 0 };
    const bytes = (a.size - b.size) / N;
    if (Math.abs(bytes) >= 8) rows.push([key, (a.count - b.count) / N, bytes]);
  }
  rows.sort((x, y) => y[2] - x[2]);
  for (const [key, objects, bytes] of rows) {
    console.log(
      `${bytes.toFixed(0).padStart(6)} B  ${objects.toFixed(2).padStart(6)} per conn  ${key}`,
    );
  }
  for (const ws of sockets) ws.close();
}
