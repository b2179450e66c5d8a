// Where a client's token may come from, for every face: `Authorization: Bearer|JWT|Token <t>`
// or a bare token, lounge's `authentication` header, `?token=` and a `Sec-WebSocket-Protocol`
// entry on WebSocket URLs (browsers cannot set headers there), and the session cookie set by
// /login/ (same-origin pages only).

export const SESSION_COOKIE = "session";

const SCHEMES = /^(?:Bearer|JWT|Token)\s+(\S+)\s*$/i;
const JWT = /^[\w-]+\.[\w-]+\.[\w-]+$/;

/** True for a string shaped like a compact JWT (three base64url parts). */
export function looksLikeJwt(value: string): boolean {
  return JWT.test(value);
}

/** A token from an Authorization-style header value, or undefined. */
export function tokenFromHeader(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  const scheme = SCHEMES.exec(trimmed);
  if (scheme) return scheme[1];
  return looksLikeJwt(trimmed) ? trimmed : undefined;
}

/** The value of one cookie, or undefined. */
export function cookieValue(header: string | null | undefined, name: string): string | undefined {
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

/**
 * True when a request with this Origin comes from a page of the same host (or from no page at
 * all): only then may a cookie stand for the user, or a cross-site page would ride on it.
 */
export function sameOrigin(origin: string | null | undefined, host: string | null | undefined) {
  if (origin === undefined || origin === null) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false; // "null" and other opaque origins
  }
}

/** The subprotocols a WebSocket handshake offers, in order. */
export function offeredProtocols(req: Request): string[] {
  return (req.headers.get("sec-websocket-protocol") ?? "").split(",")
    .map((p) => p.trim()).filter((p) => p.length > 0);
}

export interface TokenSources {
  /** Accept `?token=` (WebSocket URLs only: browsers cannot set headers there). */
  query?: boolean;
  /** Accept a JWT offered as a WebSocket subprotocol. */
  protocol?: boolean;
  /** Accept the /login/ session cookie (same-origin requests only). */
  cookie?: boolean;
}

/** The first token the request carries: headers, then query, subprotocol, cookie. */
export function tokenFromRequest(req: Request, sources: TokenSources = {}): string | undefined {
  const headers = req.headers;
  const fromHeader = tokenFromHeader(headers.get("authorization")) ??
    tokenFromHeader(headers.get("authentication"));
  if (fromHeader) return fromHeader;
  if (sources.query) {
    const fromQuery = new URL(req.url).searchParams.get("token");
    if (fromQuery) return fromQuery;
  }
  if (sources.protocol) {
    const fromProtocol = offeredProtocols(req).find(looksLikeJwt);
    if (fromProtocol) return fromProtocol;
  }
  if (sources.cookie && sameOrigin(headers.get("origin"), headers.get("host"))) {
    return cookieValue(headers.get("cookie"), SESSION_COOKIE);
  }
  return undefined;
}
