// Engine.IO v4 settings and the HTTP-level helpers every transport shares.

export interface CorsOptions {
  /** `"*"` (any origin, no credentials), `true` (reflect any origin), or an allow-list. */
  origin?: "*" | true | string[];
  credentials?: boolean;
}

/** What Deno.serve tells a handler about the connection. */
export interface ConnInfo {
  remoteAddr?: { hostname?: string };
}

export interface EngineOptions {
  /** Where the server answers, with a trailing slash. Default `/socket.io/`. */
  path: string;
  /** Server pings this often (ms). */
  pingInterval: number;
  /** A session without a pong this long after a ping is closed (ms). */
  pingTimeout: number;
  /** Largest accepted message or POST body, in bytes. */
  maxPayload: number;
  /** How long a WebSocket may take to finish upgrading a polling session (ms). */
  upgradeTimeout: number;
  /** Bytes a session may have queued for a slow client before it is disconnected. */
  maxBufferedBytes: number;
  cors: CorsOptions;
  /** Refuses a handshake by returning false (HTTP 400, code 4 "Forbidden"). */
  allowRequest?: (req: Request) => boolean | Promise<boolean>;
  /**
   * The client's address (`socket.handshake.address`, and the key of the pending cap). Default:
   * the peer of the TCP connection. Behind a proxy, pass one that picks the trusted hop of
   * X-Forwarded-For; the engine reads no such header itself.
   */
  addressOf?: (req: Request, info?: ConnInfo) => string;
  /**
   * Most sessions one address may hold that the layer above has not accepted yet (Socket.IO:
   * connected to no namespace). A handshake beyond it gets HTTP 429 with Retry-After. Default:
   * no cap.
   */
  maxPendingPerAddress?: number;
}

export const ENGINE_DEFAULTS: EngineOptions = {
  path: "/socket.io/",
  pingInterval: 25_000,
  pingTimeout: 20_000,
  maxPayload: 1_000_000,
  upgradeTimeout: 10_000,
  maxBufferedBytes: 8 * 1024 * 1024,
  cors: { origin: "*" },
};

/** Engine.IO v4's HTTP error codes (protocol document, "Errors"). */
export const ERRORS = {
  UNKNOWN_TRANSPORT: { code: 0, message: "Transport unknown" },
  UNKNOWN_SID: { code: 1, message: "Session ID unknown" },
  BAD_HANDSHAKE_METHOD: { code: 2, message: "Bad handshake method" },
  BAD_REQUEST: { code: 3, message: "Bad request" },
  FORBIDDEN: { code: 4, message: "Forbidden" },
  UNSUPPORTED_PROTOCOL_VERSION: { code: 5, message: "Unsupported protocol version" },
} as const;

export type EngineError = typeof ERRORS[keyof typeof ERRORS];

/** CORS headers for a request, or none when its origin is not allowed. */
export function corsHeaders(req: Request, cors: CorsOptions): Record<string, string> {
  const origin = req.headers.get("origin");
  if (!origin) return {};
  const allowed = cors.origin ?? "*";
  if (allowed === "*") return { "Access-Control-Allow-Origin": "*" };
  if (allowed !== true && !allowed.includes(origin)) return {};
  const headers: Record<string, string> = {
    "Access-Control-Allow-Origin": origin,
    Vary: "Origin",
  };
  if (cors.credentials) headers["Access-Control-Allow-Credentials"] = "true";
  return headers;
}

export function errorResponse(req: Request, cors: CorsOptions, error: EngineError): Response {
  return Response.json(error, { status: 400, headers: corsHeaders(req, cors) });
}

/** Seconds a client refused for too many pending sessions is told to wait. */
export const PENDING_RETRY_AFTER = 5;

/** The refusal of a handshake over the pending cap: 429, when to retry, and why. */
export function tooManyPendingResponse(req: Request, cors: CorsOptions): Response {
  return Response.json(
    { code: ERRORS.FORBIDDEN.code, message: "Too many pending sessions from this address" },
    {
      status: 429,
      headers: { ...corsHeaders(req, cors), "Retry-After": String(PENDING_RETRY_AFTER) },
    },
  );
}

export function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(15));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_");
}
