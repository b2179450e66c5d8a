// The one error handler: every failure leaves as `{"detail": ...}` or, for bad input,
// `{"field": ["message"]}`. Stack traces go to the log, never into a response.
import type { Context, ErrorHandler, Hono, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { TrieRouter } from "hono/router/trie-router";
import {
  AuthenticationError,
  ChatError,
  Conflict,
  NotFound,
  Overloaded,
  PermissionDenied,
  RateLimited,
  TooLarge,
  Unavailable,
  ValidationError,
} from "@/lib/errors.ts";
import type { Logger } from "@/lib/log.ts";
import { detailOf, fieldErrors, retryAfterOf } from "./wording.ts";

const DEFAULT_DETAIL: Record<number, string> = {
  400: "Bad request.",
  401: "Authentication credentials were not provided.",
  403: "You do not have permission to perform this action.",
  404: "Not found.",
  413: "Request body is too large.",
  415: "Unsupported media type in request.",
  429: "Request was throttled.",
  500: "A server error occurred.",
};

export function statusOf(err: ChatError): ContentfulStatusCode {
  if (err instanceof ValidationError) return 400;
  if (err instanceof AuthenticationError) return 401;
  if (err instanceof PermissionDenied) return 403;
  if (err instanceof NotFound) return 404;
  if (err instanceof Conflict) return 409;
  if (err instanceof TooLarge) return 413;
  if (err instanceof RateLimited) return 429;
  if (err instanceof Overloaded || err instanceof Unavailable) return 503;
  return 400;
}

export function errorResponse(c: Context, err: ChatError): Response {
  if (err instanceof ValidationError) return c.json(fieldErrors(err), 400);
  if (err instanceof AuthenticationError) {
    c.header("WWW-Authenticate", 'Bearer realm="api"');
    // SimpleJWT adds a code for bad tokens only; other 401s are a bare detail.
    const detail = detailOf(err);
    const body = err.code === "token_not_valid" ? { detail, code: err.code } : { detail };
    return c.json(body, 401);
  }
  const retryAfter = retryAfterOf(err);
  if (retryAfter !== undefined) c.header("Retry-After", String(retryAfter));
  return c.json({ detail: detailOf(err) }, statusOf(err));
}

export function createErrorHandler(log: Logger): ErrorHandler {
  return (err, c) => {
    if (err instanceof ChatError) return errorResponse(c, err);
    if (err instanceof HTTPException) {
      const status = err.status as ContentfulStatusCode;
      return c.json({ detail: err.message || DEFAULT_DETAIL[status] || "Error." }, status);
    }
    log.error("unhandled error", { method: c.req.method, path: c.req.path, error: err });
    return c.json({ detail: DEFAULT_DETAIL[500] }, 500);
  };
}

/**
 * 404 for unknown paths; 405 with an Allow header when the path exists under other methods.
 * The lookup router is built once, on the first miss, from the app's own route table.
 */
export function createNotFoundHandler(app: Hono<never>): NotFoundHandler {
  let router: TrieRouter<string> | undefined;
  return (c) => {
    if (!router) {
      router = new TrieRouter<string>();
      for (const route of app.routes) {
        if (route.method !== "ALL") router.add("ALL", route.path, route.method);
      }
    }
    const [matches] = router.match("ALL", c.req.path);
    const allowed = [...new Set(matches.map(([method]) => method))];
    const method = c.req.method === "HEAD" ? "GET" : c.req.method;
    // No route for the path, or a route that matched and then said "not found" itself.
    if (allowed.length === 0 || allowed.includes(method)) {
      return c.json({ detail: DEFAULT_DETAIL[404] }, 404);
    }
    if (allowed.includes("GET")) allowed.push("HEAD");
    c.header("Allow", [...allowed, "OPTIONS"].join(", "));
    return c.json({ detail: `Method "${c.req.method}" not allowed.` }, 405);
  };
}
