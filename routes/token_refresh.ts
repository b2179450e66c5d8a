// SimpleJWT's TokenRefreshView, which desk (/api/token/refresh/) and meet
// (/auth/token/refresh/) both expose: a refresh token in, `{"access"}` out, as both documents
// show; with REFRESH_ROTATION on, `{"access", "refresh"}` with the refresh token replaced.
import { Hono } from "hono";
import { z } from "zod";
import type { Core } from "@/lib/core.ts";
import { LIMITS } from "@/lib/limits.ts";
import { type AppEnv, clientAddress } from "./context.ts";
import { jsonResponse, operation, type Tag } from "./openapi.ts";
import { validate } from "./validation.ts";

const refreshBody = z.object({ refresh: z.string().min(1).max(LIMITS.token) });

const refreshed = z.object({ access: z.string(), refresh: z.string().optional() });

/** The route at `path`, documented under the face `tag`. */
export function tokenRefreshRoute(core: Core, path: string, tag: Tag) {
  const doc = operation(tag)({
    summary: "A new access token for a refresh token (and a new refresh token with rotation)",
    responses: { 200: jsonResponse("The new token(s)", refreshed) },
  });
  return new Hono<AppEnv>().post(path, doc, validate("json", refreshBody), async (c) => {
    const refreshed = await core.tokens.refresh(c.req.valid("json").refresh, clientAddress(c));
    return c.json(refreshed);
  });
}
