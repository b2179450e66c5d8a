// Probes for orchestrators: /healthz says the process is up, /readyz that the database answers.
// A node that serves its own clients but cannot reach the other nodes (Redis away) is ready but
// degraded: 200 with the reason, since taking every node out when Redis fails would stop them
// all; the log says so too.
import { Hono } from "hono";
import type { Core } from "@/lib/core.ts";
import type { AppEnv } from "./context.ts";

export function healthRoutes(core: Core, degraded?: () => string | undefined) {
  return new Hono<AppEnv>()
    .get("/healthz", (c) => c.json({ status: "ok" }))
    .get("/readyz", async (c) => {
      if (!await core.ready()) return c.json({ detail: "The database is not answering." }, 503);
      const reason = degraded?.();
      return reason === undefined
        ? c.json({ status: "ready" })
        : c.json({ status: "degraded", reason });
    });
}
