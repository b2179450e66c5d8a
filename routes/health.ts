// Probes for orchestrators: /healthz says the process is up, /readyz that the database answers.
// A node that serves its own clients but cannot reach the other nodes (Redis away) is ready but
// degraded: 200 with the reason, since taking every node out when Redis fails would stop them
// all; the log says so too.
import { Hono } from "hono";
import type { Core } from "@/lib/core.ts";
import { z } from "zod";
import type { AppEnv } from "./context.ts";
import { detailError, jsonResponse, operation } from "./openapi.ts";

const doc = operation("ops");
const status = z.object({ status: z.string(), reason: z.string().optional() });

export function healthRoutes(core: Core, degraded?: () => string | undefined) {
  return new Hono<AppEnv>()
    .get(
      "/healthz",
      doc({ summary: "The process is up", responses: { 200: jsonResponse("Up", status) } }),
      (c) => c.json({ status: "ok" }),
    )
    .get(
      "/readyz",
      doc({
        summary: "The database answers (and Redis, when configured: degraded otherwise)",
        responses: {
          200: jsonResponse("Ready", status),
          503: jsonResponse("Not ready", detailError),
        },
      }),
      async (c) => {
        if (!await core.ready()) return c.json({ detail: "The database is not answering." }, 503);
        // Redis away: this node serves its own clients; other nodes miss its events meanwhile.
        const reason = degraded?.();
        return reason === undefined
          ? c.json({ status: "ready" })
          : c.json({ status: "degraded", reason });
      },
    );
}
