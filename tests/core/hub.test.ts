// The in-memory hub: delivery by topic, clean unsubscription, isolation of failing listeners.
import assert from "node:assert/strict";
import type { DomainEvent } from "@/lib/events.ts";
import { createMemoryHub } from "@/realtime/hub.ts";

const event: DomainEvent = { type: "presence.changed", userId: 1, online: true };

Deno.test("events reach only the listeners of their topic", () => {
  const hub = createMemoryHub();
  const seen: string[] = [];
  hub.subscribe("room:1", (_e, topic) => seen.push(`a:${topic}`));
  hub.subscribe("room:2", (_e, topic) => seen.push(`b:${topic}`));
  hub.publish("room:1", event);
  hub.publish("room:3", event);
  assert.deepEqual(seen, ["a:room:1"]);
});

Deno.test("unsubscribing the last listener removes the topic", () => {
  const hub = createMemoryHub();
  const offs = Array.from({ length: 1000 }, (_, i) => hub.subscribe(`room:${i % 10}`, () => {}));
  assert.equal(hub.listenerCount("room:3"), 100);
  for (const off of offs) off();
  for (let i = 0; i < 10; i++) assert.equal(hub.listenerCount(`room:${i}`), 0);
  offs[0](); // twice is harmless
});

Deno.test("a throwing listener neither stops the others nor reaches the publisher", () => {
  const failures: unknown[] = [];
  const hub = createMemoryHub({ onListenerError: (err) => failures.push(err) });
  let delivered = 0;
  hub.subscribe("user:7", () => {
    throw new Error("broken socket");
  });
  hub.subscribe("user:7", () => delivered++);
  hub.publish("user:7", event);
  assert.equal(delivered, 1);
  assert.equal(failures.length, 1);
});

Deno.test("a listener may unsubscribe itself while an event is delivered", () => {
  const hub = createMemoryHub();
  const calls: string[] = [];
  const off = hub.subscribe("all", () => {
    calls.push("first");
    off();
  });
  hub.subscribe("all", () => calls.push("second"));
  hub.publish("all", event);
  hub.publish("all", event);
  assert.deepEqual(calls, ["first", "second", "second"]);
});
