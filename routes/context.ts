// What every router shares: the Hono environment type and the authentication middleware.
import type { Context, MiddlewareHandler } from "hono";
import type { Core } from "@/lib/core.ts";
import { AuthenticationError } from "@/lib/errors.ts";
import type { Principal } from "@/lib/records.ts";
import { clientAddressOf } from "@/realtime/client_address.ts";
import { tokenFromRequest, type TokenSources } from "@/realtime/credentials.ts";
import { authSpec, documented } from "./openapi.ts";

export type AppEnv = {
  Variables: {
    /** Set by requireAuth(); read by the request log for the user id. */
    principal: Principal;
    /** Set by clientAddresses(): who is asking, for per-client limits. */
    clientAddress: string;
  };
};

/**
 * Rejects the request with 401 unless it carries a valid access token. The OpenAPI document
 * shows the schemes it accepts on every route it guards.
 */
export function requireAuth(core: Core, sources: TokenSources = {}): MiddlewareHandler<AppEnv> {
  const middleware: MiddlewareHandler<AppEnv> = async (c, next) => {
    const token = tokenFromRequest(c.req.raw, sources);
    if (!token) throw new AuthenticationError("not_authenticated");
    c.set("principal", await core.tokens.authenticate(token));
    await next();
  };
  return documented(middleware, authSpec(sources.cookie ?? false));
}

/** What Deno.serve passed to app.fetch() beside the request (undefined in app.request()). */
const connInfo = (c: Context) => c.env as Deno.ServeHandlerInfo | undefined;

/** Records each request's client address (see clientAddressOf) for clientAddress(). */
export function clientAddresses(trustProxy: number): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set("clientAddress", clientAddressOf(c.req.raw, connInfo(c), trustProxy));
    await next();
  };
}

/** The client's address, for per-client limits (empty when the runtime does not say). */
export function clientAddress(c: Context<AppEnv>): string {
  return c.get("clientAddress") ?? clientAddressOf(c.req.raw, connInfo(c), 0);
}
