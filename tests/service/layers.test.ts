// The layout's rules, checked on the imports themselves: the core knows no face, no transport
// and no wording; the realtime layer knows no face; a face never reaches into another face or
// into the app assembly; the Socket.IO library stands on its own.
import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Every .ts file under `dir` (relative to the root), with the project files it imports. */
async function importsUnder(dir: string): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  async function walk(path: string) {
    for await (const entry of Deno.readDir(join(ROOT, path))) {
      const child = `${path}/${entry.name}`;
      if (entry.isDirectory) await walk(child);
      else if (entry.name.endsWith(".ts")) found.set(child, await importsOf(child));
    }
  }
  await walk(dir);
  return found;
}

async function importsOf(file: string): Promise<string[]> {
  const source = await Deno.readTextFile(join(ROOT, file));
  const specifiers = [...source.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)].map((m) => m[1]);
  return specifiers.flatMap((spec) => {
    if (spec.startsWith("@/")) return [spec.slice(2)];
    if (spec.startsWith(".")) return [relative(ROOT, join(ROOT, dirname(file), spec))];
    return [];
  });
}

function violations(
  files: Map<string, string[]>,
  allowed: (target: string, file: string) => boolean,
): string[] {
  const bad: string[] = [];
  for (const [file, targets] of files) {
    for (const target of targets) if (!allowed(target, file)) bad.push(`${file} → ${target}`);
  }
  return bad;
}

const faceOf = (path: string) => path.startsWith("faces/") ? path.split("/")[1] : undefined;

Deno.test("the core (lib/) imports only the core and the database layer", async () => {
  const bad = violations(
    await importsUnder("lib"),
    (t) => t.startsWith("lib/") || t.startsWith("db/"),
  );
  assert.deepEqual(bad, []);
});

Deno.test("the database layer imports only itself and the core's plain records", async () => {
  const bad = violations(
    await importsUnder("db"),
    (t) => t.startsWith("db/") || t === "lib/records.ts",
  );
  assert.deepEqual(bad, []);
});

Deno.test("the realtime layer imports the core and itself, never a face or the HTTP routes", async () => {
  const bad = violations(
    await importsUnder("realtime"),
    (t) => t.startsWith("realtime/") || t.startsWith("lib/"),
  );
  assert.deepEqual(bad, []);
});

Deno.test("the Socket.IO library imports nothing outside its own folder", async () => {
  const bad = violations(
    await importsUnder("realtime/socketio"),
    (t) => t.startsWith("realtime/socketio/"),
  );
  assert.deepEqual(bad, []);
});

Deno.test("a face imports the core, realtime and the shared middleware, never another face or the app", async () => {
  const bad = violations(await importsUnder("faces"), (target, file) => {
    if (target.startsWith("faces/")) return faceOf(target) === faceOf(file);
    if (target === "routes/app.ts") return false;
    return ["lib/", "realtime/", "routes/"].some((layer) => target.startsWith(layer));
  });
  assert.deepEqual(bad, []);
});

Deno.test("the shared middleware in routes/ knows no face; only the app assembly mounts them", async () => {
  const bad = violations(
    await importsUnder("routes"),
    (target, file) => !target.startsWith("faces/") || file === "routes/app.ts",
  );
  assert.deepEqual(bad, []);
});
