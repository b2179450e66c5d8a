// SimpleJWT's TokenRefreshView, which desk (/api/token/refresh/) and meet
// (/auth/token/refresh/) both expose: a refresh token in, `{"access"}` out, as both documents
// show; with REFRESH_ROTATION on, `{"access", "refresh"}` with the refresh token replaced.
import { Hono } from "hono";
import { z } from "zod";
import type { Core } from "@/lib/core.ts";
import { LIMITS } from "@/lib/limits.ts";
import { type AppEnv, clientAddress } from "./context.ts";
import { validate } from "./validation.ts";

const refreshBody = z.object({ refresh: z.string().min(1).max(LIMITS.token) });

export function tokenRefreshRoute(core: Core, path: string) {
  return new Hono<AppEnv>().post(path, validate("json", refreshBody), async (c) => {
    const refreshed = await core.tokens.refresh(c.req.valid("json").refresh, clientAddress(c));
    return c.json(refreshed);
  });
}
