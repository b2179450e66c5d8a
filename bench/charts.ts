// Draws the SVG charts of a finished run without running the benchmark again:
//   deno run --allow-read --allow-write bench/charts.ts [bench/results/latest.json]
// `deno task bench` draws them itself after a full run.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeCharts } from "./lib/charts.ts";

const here = dirname(fileURLToPath(import.meta.url));
const input = Deno.args[0] ?? join(here, "results", "latest.json");
const run = JSON.parse(await Deno.readTextFile(input));
for (const file of await writeCharts(run, join(here, "results", "charts"))) console.log(file);
