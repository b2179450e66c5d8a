// Probes for orchestrators: /healthz says the process is up, /readyz that the database answers.
import { Hono } from "hono";
import type { Core } from "@/lib/core.ts";
import { z } from "zod";
import type { AppEnv } from "./context.ts";
import { detailError, jsonResponse, operation } from "./openapi.ts";

const doc = operation("ops");
const status = z.object({ status: z.string() });

export function healthRoutes(core: Core) {
  return new Hono<AppEnv>()
    .get(
      "/healthz",
      doc({ summary: "The process is up", responses: { 200: jsonResponse("Up", status) } }),
      (c) => c.json({ status: "ok" }),
    )
    .get(
      "/readyz",
      doc({
        summary: "The database answers",
        responses: {
          200: jsonResponse("Ready", status),
          503: jsonResponse("Not ready", detailError),
        },
      }),
      async (c) =>
        await core.ready()
          ? c.json({ status: "ready" })
          : c.json({ detail: "The database is not answering." }, 503),
    );
}
