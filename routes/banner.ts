// What `deno task dev` prints once the server listens: where each face's entry points are, the
// API docs, and the demo accounts (their passwords only on the start that created them: they
// are never stored in the clear).
import type { DemoAccount } from "@/lib/demo.ts";

export interface BannerOptions {
  /** Where the server listens (or PUBLIC_URL). */
  url: string;
  /** desk's Socket.IO path (SOCKETIO_PATH). */
  socketioPath: string;
  /** Accounts created on this start, with their passwords. */
  created: DemoAccount[];
  /** The demo usernames that already existed (passwords shown when they were made). */
  existing: string[];
  /** Whether /metrics is readable (METRICS_TOKEN or METRICS_PUBLIC). */
  metrics: boolean;
}

export function devBanner(o: BannerOptions): string {
  const http = o.url.replace(/\/+$/, "");
  const ws = http.replace(/^http/, "ws");
  const lines = [
    `chat is running at ${http}`,
    "",
    `  API docs  ${http}/docs  (${http}/openapi.json, realtime: ${http}/asyncapi.json)`,
    `  desk      ${http}/login/  (web pages)  REST ${http}/api/room/  Socket.IO ${http}${o.socketioPath}`,
    `  meet      REST ${http}/auth/login/  ${http}/api/rooms/  WebSocket ${ws}/ws/chat/{room_id}/`,
    `  inbox     REST ${http}/api/conversations  WebSocket ${ws}/ws/{username}/  ${ws}/ws/notifications/`,
    `  live      REST ${http}/room/list  ${http}/room/add`,
    `  lounge    REST ${http}/http/login  ${http}/http/users  WebSocket ${ws}/socket`,
    `  ops       ${http}/healthz  ${http}/readyz  ${http}/metrics${
      o.metrics ? "" : " (off: set METRICS_TOKEN or METRICS_PUBLIC)"
    }`,
    "",
  ];
  if (o.created.length > 0) {
    lines.push("Demo accounts (passwords shown only now):");
    for (const a of o.created) lines.push(`  ${a.role.padEnd(7)} ${a.username} / ${a.password}`);
  } else if (o.existing.length > 0) {
    lines.push(
      `Demo accounts: ${o.existing.join(", ")} (passwords were shown when they were created; ` +
        "an empty database gets new ones)",
    );
  }
  return lines.join("\n");
}
