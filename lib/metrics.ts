// Counters an operator (and a test) can read: what was refused and why, without a log line per
// refusal, connections, messages, deliveries, HTTP traffic and commits. prom-client holds them,
// so /metrics (routes/metrics.ts) only has to print the registry. The core knows no faces: the
// faces and the realtime kit count what is theirs, by face.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/** Seconds: from a fast local commit or request to a slow remote one. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

let processDefaults: Registry | undefined;

/**
 * The process's own metrics (CPU, memory, event-loop lag, ...), once per process: every server
 * started in one process (tests) shares them.
 */
export function processMetrics(): Registry {
  if (!processDefaults) {
    processDefaults = new Registry();
    collectDefaultMetrics({ register: processDefaults });
  }
  return processDefaults;
}

export function createMetrics() {
  const registry = new Registry();
  const scrapeHooks = new Set<() => void>();
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
    new Counter<L>({ name, help, labelNames, registers: [registry] });
  return {
    registry,
    /** Runs `fn` before each scrape (gauges read from elsewhere); returns its remover. */
    beforeScrape(fn: () => void): () => void {
      scrapeHooks.add(fn);
      return () => scrapeHooks.delete(fn);
    },
    /** The text a Prometheus scrape gets: this server's metrics and the process's own. */
    async scrape(): Promise<{ text: string; contentType: string }> {
      for (const hook of scrapeHooks) hook();
      const merged = Registry.merge([registry, processMetrics()]);
      return { text: await merged.metrics(), contentType: registry.contentType };
    },
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
    /** Open realtime connections, by face and transport (websocket, polling). */
    connections: new Gauge({
      name: "chat_connections_open",
      help: "Open realtime connections, by face and transport",
      labelNames: ["face", "transport"],
      registers: [registry],
    }),
    /** Messages a face handed to the core that were committed (duplicates of a retry not). */
    messagesCommitted: counter(
      "chat_messages_committed_total",
      "Messages committed, by the face they were sent through",
      ["face"],
    ),
    /** Frames or events written to realtime connections. */
    deliveries: counter(
      "chat_deliveries_total",
      "Frames or events delivered to realtime connections, by face",
      ["face"],
    ),
    /** HTTP requests answered with an error, by reason (from the status). */
    refusedRequests: counter(
      "chat_refused_requests_total",
      "HTTP requests refused, by reason (invalid, unauthenticated, forbidden, not_found, ...)",
      ["reason"],
    ),
    /** HTTP requests by route pattern (never the raw path), method and status. */
    httpRequests: counter(
      "chat_http_requests_total",
      "HTTP requests, by method, route pattern and status",
      ["method", "route", "status"],
    ),
    httpDuration: new Histogram({
      name: "chat_http_request_duration_seconds",
      help: "HTTP request latency until the response starts, by method and route pattern",
      labelNames: ["method", "route"],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    /** Items in each group-commit transaction. */
    commitBatch: new Histogram({
      name: "chat_group_commit_batch_size",
      help: "Messages per group-commit transaction",
      buckets: BATCH_BUCKETS,
      registers: [registry],
    }),
    commitDuration: new Histogram({
      name: "chat_group_commit_duration_seconds",
      help: "Duration of each group-commit transaction",
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    /** Events the core published to the hub. */
    hubPublishes: counter(
      "chat_hub_publishes_total",
      "Events published to the hub",
      [],
    ),
    /** Users online on any face; set at scrape time (see routes/metrics.ts). */
    presence: new Gauge({
      name: "chat_presence_online",
      help: "Users online on any face",
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
