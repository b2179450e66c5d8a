import assert from "node:assert/strict";
import { createRoom, expectChat, join, person, startCluster } from "../fixtures/mod.ts";

Deno.test("smoke", async () => {
  const t0 = Date.now();
  await using cluster = await startCluster();
  console.log("started in", Date.now() - t0);
  const [a, b] = cluster.nodes;
  const ann = await person(a);
  const bob = await person(b);
  const room = await createRoom(a, ann, { name: "x" });
  await using sa = await join(a, ann, room.id);
  await using sb = await join(b, bob, room.id);
  sa.say("hello from A");
  await expectChat(sb, "hello from A");
  assert.ok(true);
  console.log((await a.readiness()).body);
});
