// Prometheus at /metrics, and the HTTP request counters behind it. Requests are labelled by
// the route pattern they matched (`/api/rooms/:id{[0-9]+}/`), never the raw path, so the
// label set stays bounded whatever clients ask for.
import type { Context, MiddlewareHandler } from "hono";
import { Hono } from "hono";
import { matchedRoutes } from "hono/route";
import { NotFound } from "@/lib/errors.ts";
import type { Metrics } from "@/lib/metrics.ts";
import { tokenFromHeader } from "@/realtime/credentials.ts";
import type { AppEnv } from "./context.ts";
import { detailError, jsonResponse, operation } from "./openapi.ts";

/** Why a request was refused, from its status. */
const REFUSALS: Record<number, string> = {
  400: "invalid",
  401: "unauthenticated",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  409: "conflict",
  413: "too_large",
  415: "unsupported_media_type",
  426: "upgrade_required",
  429: "throttled",
  500: "error",
  503: "unavailable",
};

/** The pattern of the route that answered (its handler, not a middleware), or "unmatched". */
export function routePattern(c: Context): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    if (routes[i].method !== "ALL") return routes[i].path;
  }
  return "unmatched";
}

/** Counts and times every request, by method, route pattern and status. */
export function httpMetrics(metrics: Metrics): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const route = routePattern(c);
    const method = c.req.method;
    const status = c.res.status;
    metrics.httpRequests.inc({ method, route, status: String(status) });
    metrics.httpDuration.observe({ method, route }, (performance.now() - started) / 1000);
    if (status >= 400) metrics.refusedRequests.inc({ reason: REFUSALS[status] ?? String(status) });
  };
}

export interface MetricsAccess {
  /** Only `Authorization: Bearer <token>` may scrape (METRICS_TOKEN). */
  token?: string;
  /** Without a token, scraping is open (METRICS_PUBLIC); otherwise /metrics is a 404. */
  public: boolean;
}

/** Compares in time that does not depend on where the two first differ. */
function sameSecret(given: string, expected: string): boolean {
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i] ?? 0) ^ b[i];
  return diff === 0;
}

/** GET /metrics in the Prometheus text format, behind METRICS_TOKEN or METRICS_PUBLIC. */
export function metricsRoutes(metrics: Metrics, access: MetricsAccess) {
  const doc = operation("ops")({
    summary: "Prometheus metrics (METRICS_TOKEN as a Bearer token, or METRICS_PUBLIC)",
    responses: {
      200: { description: "The Prometheus text format", content: { "text/plain": {} } },
      401: jsonResponse("No or a wrong METRICS_TOKEN", detailError),
      404: jsonResponse("Off: neither METRICS_TOKEN nor METRICS_PUBLIC", detailError),
    },
    security: [{ metricsToken: [] }, {}],
  });
  return new Hono<AppEnv>().get("/metrics", doc, async (c) => {
    if (access.token === undefined) {
      if (!access.public) throw new NotFound();
    } else {
      const header = c.req.header("authorization") ?? "";
      const given = /^Bearer\s/i.test(header) ? tokenFromHeader(header) : undefined;
      if (given === undefined || !sameSecret(given, access.token)) {
        c.header("WWW-Authenticate", 'Bearer realm="metrics"');
        return c.json({ detail: "Authentication credentials were not provided." }, 401);
      }
    }
    const { text, contentType } = await metrics.scrape();
    c.header("Cache-Control", "no-store");
    return c.body(text, 200, { "Content-Type": contentType });
  });
}
