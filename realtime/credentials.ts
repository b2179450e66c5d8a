// Where a client's token may come from, for every face (DESIGN.md, "Conventions"):
// `Authorization: Bearer|JWT|Token <t>` or a bare token, lounge's `authentication` header,
// `?token=` on WebSocket URLs, and the session cookie set by /login/.

export const SESSION_COOKIE = "session";

const SCHEMES = /^(?:Bearer|JWT|Token)\s+(\S+)\s*$/i;
const BARE = /^[\w-]+\.[\w-]+\.[\w-]+$/;

/** A token from an Authorization-style header value, or undefined. */
export function tokenFromHeader(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  const scheme = SCHEMES.exec(trimmed);
  if (scheme) return scheme[1];
  return BARE.test(trimmed) ? trimmed : undefined;
}

/** The value of one cookie, or undefined. */
export function cookieValue(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined; // a malformed %-escape is no credential
      }
    }
  }
  return undefined;
}

export interface TokenSources {
  /** Accept `?token=` (WebSocket URLs only: browsers cannot set headers there). */
  query?: boolean;
  /** Accept the /login/ session cookie (same-site pages). */
  cookie?: boolean;
}

/** The first token the request carries, checked in the order of DESIGN.md. */
export function tokenFromRequest(req: Request, sources: TokenSources = {}): string | undefined {
  const headers = req.headers;
  const fromHeader = tokenFromHeader(headers.get("authorization")) ??
    tokenFromHeader(headers.get("authentication"));
  if (fromHeader) return fromHeader;
  if (sources.query) {
    const fromQuery = new URL(req.url).searchParams.get("token");
    if (fromQuery) return fromQuery;
  }
  if (sources.cookie) return cookieValue(headers.get("cookie"), SESSION_COOKIE);
  return undefined;
}
