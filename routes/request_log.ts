// One structured log line per request. The path is logged without its query string, which
// may carry a token (`?token=` on WebSocket URLs).
import type { MiddlewareHandler } from "hono";
import type { Logger } from "@/lib/log.ts";
import type { AppEnv } from "./context.ts";

export function requestLog(log: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      log.info("request", {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        duration_ms: Math.round((performance.now() - started) * 10) / 10,
        user_id: c.get("principal")?.user.id ?? null,
      });
    }
  };
}
