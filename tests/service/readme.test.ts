// The README is the only manual a clone has: it lists every setting the service reads, and it
// stands on its own (no pointers to files outside the repository).
import assert from "node:assert/strict";
import { ENV_VARIABLES } from "@/lib/config.ts";

const README = await Deno.readTextFile(new URL("../../README.md", import.meta.url));

Deno.test("the README's configuration table lists every variable the service reads, and no other", () => {
  const rows = [...README.matchAll(/^\| `([A-Z][A-Z0-9_]+)`\s*\|/gm)].map((m) => m[1]);
  assert.deepEqual([...rows].sort(), [...ENV_VARIABLES].sort());
});

Deno.test("the README points at nothing outside the repository", () => {
  assert.deepEqual(README.match(/\.\.\/[\w./-]+/g) ?? [], []);
});
