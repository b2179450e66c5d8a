// Counters an operator (and a test) can read: what was refused and why, without a log line per
// refusal. prom-client holds them, so a /metrics endpoint only has to print the registry.
import { Counter, Registry } from "prom-client";

export function createMetrics() {
  const registry = new Registry();
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
    new Counter<L>({ name, help, labelNames, registers: [registry] });
  return {
    registry,
    /** Frames or events a realtime connection sent that were refused, by face and reason. */
    refusedFrames: counter(
      "chat_refused_frames_total",
      "Realtime frames or events refused (malformed, invalid, throttled, too many queued)",
      ["face", "reason"],
    ),
    /** Connections cut because they stopped reading what they were sent. */
    slowConsumers: counter(
      "chat_slow_consumers_total",
      "Realtime connections closed because their outgoing buffer passed its bound",
      ["face"],
    ),
    /** Requests, sends and logins refused by a rate or concurrency limit. */
    throttled: counter(
      "chat_throttled_total",
      "Requests refused by a rate or concurrency limit, by limit",
      ["limit"],
    ),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** A counter's total over the series whose labels include `labels` (0 when never counted). */
export async function counterValue(
  counter: Counter<string>,
  labels: Record<string, string> = {},
): Promise<number> {
  const { values } = await counter.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}
