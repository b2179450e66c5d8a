// What every router shares: the Hono environment type and the authentication middleware.
import type { Context, MiddlewareHandler } from "hono";
import { getConnInfo } from "hono/deno";
import type { Core } from "@/lib/core.ts";
import { AuthenticationError } from "@/lib/errors.ts";
import type { Principal } from "@/lib/records.ts";
import { tokenFromRequest, type TokenSources } from "@/realtime/credentials.ts";

export type AppEnv = {
  Variables: {
    /** Set by requireAuth(); read by the request log for the user id. */
    principal: Principal;
  };
};

/** Rejects the request with 401 unless it carries a valid access token. */
export function requireAuth(core: Core, sources: TokenSources = {}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = tokenFromRequest(c.req.raw, sources);
    if (!token) throw new AuthenticationError("not_authenticated");
    c.set("principal", await core.tokens.authenticate(token));
    await next();
  };
}

/** The peer's address, for per-client limits (empty when the runtime does not say). */
export function clientAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? "";
  } catch {
    return "";
  }
}
