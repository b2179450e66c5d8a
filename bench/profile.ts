// Summarises a V8 .cpuprofile (from `deno task bench --cpu-prof` or `--cpu-prof` directly):
// the functions with the most self time, and the files they live in.
//   deno run --allow-read bench/profile.ts <file.cpuprofile> [top=25]
interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg] = Deno.args;
if (!file) {
  console.error("usage: deno run --allow-read bench/profile.ts <file.cpuprofile> [top]");
  Deno.exit(2);
}
const profile: Profile = JSON.parse(await Deno.readTextFile(file));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
profile.samples.forEach((id, i) =>
  self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
);
const total = [...self.values()].reduce((a, b) => a + b, 0);

const short = (url: string) =>
  url.replace(/^.*\/node_modules\/(\.deno\/)?/, "npm:").replace(/^file:\/\/.*?\/(main\/)?/, "");
const fns = new Map<string, number>();
const files = new Map<string, number>();
for (const [id, us] of self) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  const where = url ? `${short(url)}:${lineNumber + 1}` : "";
  const key = `${functionName || "(anonymous)"} ${where}`.trim();
  fns.set(key, (fns.get(key) ?? 0) + us);
  const f = url ? short(url).split(":")[0] : functionName || "(native)";
  files.set(f, (files.get(f) ?? 0) + us);
}
const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
const top = Number(topArg ?? 25);
console.log(`total sampled: ${(total / 1000).toFixed(0)} ms\n\nself time by function:`);
for (const [k, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${pct(us)}  ${k}`);
}
console.log("\nself time by file:");
for (const [k, us] of [...files].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
  console.log(`${pct(us)}  ${k}`);
}
