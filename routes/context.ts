// What every router shares: the Hono environment type and the authentication middleware.
import type { Context, MiddlewareHandler } from "hono";
import type { Core } from "@/lib/core.ts";
import { AuthenticationError } from "@/lib/errors.ts";
import type { Principal } from "@/lib/records.ts";
import { tokenFromRequest, type TokenSources } from "@/realtime/credentials.ts";

export type AppEnv = {
  Variables: {
    /** Set by requireAuth(); read by the request log for the user id. */
    principal: Principal;
    /** Set by clientAddresses(): who is asking, for per-client limits. */
    clientAddress: string;
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

/** The longest address kept: a key for limits, not something to parse. */
const MAX_ADDRESS = 100;

/**
 * The client's address. With `trustProxy` = 0 it is the peer's; with n > 0 the peer and the
 * n - 1 proxies before it are trusted to append to X-Forwarded-For, so the client is the
 * entry n places from the right (entries further left are the client's own claims). Empty
 * when the runtime does not say. Shared with the socket servers, which see the same requests.
 */
export function clientAddressOf(
  req: Request,
  info: Deno.ServeHandlerInfo | undefined,
  trustProxy: number,
): string {
  const remote = info?.remoteAddr;
  const peer = remote && "hostname" in remote ? remote.hostname : "";
  if (trustProxy === 0) return peer;
  const chain = (req.headers.get("x-forwarded-for") ?? "").split(",")
    .map((entry) => entry.trim()).filter((entry) => entry.length > 0);
  chain.push(peer);
  return chain[Math.max(0, chain.length - 1 - trustProxy)].slice(0, MAX_ADDRESS);
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
