// Probes for orchestrators: /healthz says the process is up, /readyz that the database answers.
import { Hono } from "hono";
import type { Core } from "@/lib/core.ts";
import type { AppEnv } from "./context.ts";

export function healthRoutes(core: Core) {
  return new Hono<AppEnv>()
    .get("/healthz", (c) => c.json({ status: "ok" }))
    .get(
      "/readyz",
      async (c) =>
        await core.ready()
          ? c.json({ status: "ready" })
          : c.json({ detail: "The database is not answering." }, 503),
    );
}
