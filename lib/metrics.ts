// Counters an operator (and a test) can read: what was refused and why, without a log line per
// refusal. prom-client holds them, so a /metrics endpoint only has to print the registry.
import { Counter, Gauge, Registry } from "prom-client";

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
    /**
     * Hub events through Redis, by outcome: published, publish_failed, dropped_queue_full,
     * received, echo (this node's own, dropped), unheard (no listener here), undecodable.
     */
    hubRedis: counter(
      "chat_hub_redis_events_total",
      "Hub events sent to or received from Redis, by outcome",
      ["outcome"],
    ),
    /** Pages streamed lists (whole histories, ...) read from their source, by list. */
    listPages: counter(
      "chat_list_stream_pages_total",
      "Pages read by streamed list responses, by list",
      ["list"],
    ),
    /** Streamed list responses by how they ended: complete, cancelled (client gone), failed. */
    listStreams: counter(
      "chat_list_streams_total",
      "Streamed list responses that ended, by list and outcome",
      ["list", "outcome"],
    ),
    /** The memory bound of streamed lists: most rows one response held at once. */
    listRowsPeak: new Gauge({
      name: "chat_list_stream_rows_peak",
      help: "Most rows one streamed list response held in memory at once since start, by list",
      labelNames: ["list"],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * A counter's total (or a gauge's sum) over the series whose labels include `labels` (0 when
 * never counted).
 */
export async function counterValue(
  counter: Counter<string> | Gauge<string>,
  labels: Record<string, string> = {},
): Promise<number> {
  const { values } = await counter.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}
