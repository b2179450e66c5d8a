// Who is asking, for per-client limits: the HTTP routes and the socket servers see the same
// requests, so they take the address the same way (TRUST_PROXY decides how).

/** The longest address kept: a key for limits, not something to parse. */
const MAX_ADDRESS = 100;

/**
 * The client's address. With `trustProxy` = 0 it is the peer's; with n > 0 the peer and the
 * n - 1 proxies before it are trusted to append to X-Forwarded-For, so the client is the
 * entry n places from the right (entries further left are the client's own claims). Empty
 * when the runtime does not say. The same for HTTP routes and sockets.
 */
export function clientAddressOf(
  req: Request,
  info: { remoteAddr?: Deno.Addr | { hostname?: string } } | undefined,
  trustProxy: number,
): string {
  const remote = info?.remoteAddr;
  const peer = (remote && "hostname" in remote ? remote.hostname : undefined) ?? "";
  if (trustProxy === 0) return peer;
  const chain = (req.headers.get("x-forwarded-for") ?? "").split(",")
    .map((entry) => entry.trim()).filter((entry) => entry.length > 0);
  chain.push(peer);
  return chain[Math.max(0, chain.length - 1 - trustProxy)].slice(0, MAX_ADDRESS);
}
