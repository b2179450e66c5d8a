// The desk face (specs/desk.md). So far: its token endpoints, SimpleJWT's
// TokenObtainPairView and TokenRefreshView.
import { Hono } from "hono";
import { z } from "zod";
import type { Core } from "../lib/core.ts";
import { type AppEnv, clientAddress } from "./context.ts";
import { validate } from "./validation.ts";

const credentials = z.object({
  username: z.string().min(1).max(254),
  password: z.string().min(1).max(1024),
});

const refreshBody = z.object({ refresh: z.string().min(1).max(4096) });

export function deskRoutes(core: Core) {
  return new Hono<AppEnv>()
    .post("/api/token/", validate("json", credentials), async (c) => {
      const { username, password } = c.req.valid("json");
      const { access, refresh } = await core.accounts.login(username, password, clientAddress(c));
      return c.json({ access, refresh });
    })
    .post("/api/token/refresh/", validate("json", refreshBody), async (c) => {
      const { access, refresh } = await core.tokens.refresh(c.req.valid("json").refresh);
      return c.json({ access, refresh });
    });
}
