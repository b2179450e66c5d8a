// The HTTP application: shared middleware, the error handler, and every face's router.
import { Hono } from "hono";
import { getPath } from "hono/utils/url";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import type { Core } from "@/lib/core.ts";
import type { Logger } from "@/lib/log.ts";
import type { Metrics } from "@/lib/metrics.ts";
import { type AppEnv, clientAddresses } from "./context.ts";
import { deskRoutes } from "@/faces/desk/http.ts";
import { INBOX_UPLOAD_PATHS, inboxUploadRoutes } from "@/faces/inbox/uploads.ts";
import { createErrorHandler, createNotFoundHandler } from "./errors.ts";
import { healthRoutes } from "./health.ts";
import { HISTORY_HEADERS } from "./history_headers.ts";
import { createListStreams } from "./list_stream.ts";
import { meetRoutes } from "@/faces/meet/http.ts";
import { inboxRoutes } from "@/faces/inbox/http.ts";
import { liveRoutes } from "@/faces/live/http.ts";
import { loungeRoutes } from "@/faces/lounge/http.ts";
import type { MeetMessagesShape } from "@/faces/meet/history.ts";
import { pageRoutes } from "@/faces/desk/pages.ts";
import { requestLog } from "./request_log.ts";
import { httpMetrics, type MetricsAccess, metricsRoutes } from "./metrics.ts";
import { docsRoutes } from "./docs.ts";
import { deskChannel } from "@/faces/desk/frames.ts";
import { meetChannel } from "@/faces/meet/frames.ts";
import { inboxChannels } from "@/faces/inbox/frames.ts";
import { loungeChannel } from "@/faces/lounge/frames.ts";

export interface AppOptions {
  core: Core;
  log: Logger;
  metrics: Metrics;
  /** "*" alone allows any origin without credentials; a list allows those, with credentials. */
  corsOrigins: string[];
  maxBodyBytes: number;
  /** X-Forwarded-For hops to believe for the client address (TRUST_PROXY); 0 = none. */
  trustProxy: number;
  /** Base of absolute URLs in payloads (PUBLIC_URL); the request's origin when unset. */
  publicUrl?: string;
  /** The raw-WebSocket faces' upgrade routes (meet's /ws/chat/{id}/, ...). */
  sockets: Hono<AppEnv>[];
  /** meet's room history shape (MEET_MESSAGES_SHAPE). */
  meetMessagesShape: MeetMessagesShape;
  /** Who may read /metrics (METRICS_TOKEN, METRICS_PUBLIC); off when not given. */
  metricsAccess?: MetricsAccess;
  /** desk's Socket.IO path (SOCKETIO_PATH), for the AsyncAPI document. */
  socketioPath?: string;
  /** Why the node serves with less than it should (Redis away), for /readyz. */
  degraded?: () => string | undefined;
}

/**
 * The path a request is routed by: as sent, except that lounge's paths (under /http/) read
 * repeated slashes as one, since its original front-end asks for `/http//login`.
 */
export function facePath(req: Request): string {
  const path = getPath(req);
  return path.startsWith("/http/") && path.includes("//") ? path.replace(/\/{2,}/g, "/") : path;
}

export function createApp(options: AppOptions): Hono<AppEnv> {
  const { core, log, metrics, corsOrigins, maxBodyBytes, trustProxy, sockets, publicUrl } = options;
  const app = new Hono<AppEnv>({ getPath: facePath });
  const anyOrigin = corsOrigins.includes("*");
  const lists = createListStreams({ log, metrics });

  app.use(httpMetrics(metrics));
  app.use(requestLog(log));
  app.use(clientAddresses(trustProxy));
  app.use(cors({
    origin: anyOrigin ? "*" : corsOrigins,
    credentials: !anyOrigin,
    allowHeaders: ["Authorization", "Authentication", "Content-Type"],
    exposeHeaders: HISTORY_HEADERS,
    maxAge: 600,
  }));
  const limitBody = bodyLimit({
    maxSize: maxBodyBytes,
    onError: () => {
      throw new HTTPException(413, {
        message: `Request body is too large. The limit is ${maxBodyBytes} bytes.`,
      });
    },
  });
  // Uploads have their own, larger limit (UPLOAD_MAX_BYTES), enforced by their route.
  const uploadPaths = new Set(INBOX_UPLOAD_PATHS);
  app.use((c, next) =>
    c.req.method === "POST" && uploadPaths.has(c.req.path) ? next() : limitBody(c, next)
  );

  app.route("/", healthRoutes(core, options.degraded));
  app.route("/", metricsRoutes(metrics, options.metricsAccess ?? { public: false }));
  const channels = [
    deskChannel(options.socketioPath ?? "/socket.io/"),
    meetChannel,
    ...inboxChannels,
    loungeChannel,
  ];
  app.route("/", docsRoutes({ app, channels, publicUrl }));
  app.route("/", deskRoutes(core, { lists, publicUrl }));
  app.route("/", pageRoutes(core));
  app.route("/", meetRoutes(core, { lists, messagesShape: options.meetMessagesShape }));
  app.route("/", inboxUploadRoutes(core, { publicUrl }));
  app.route("/", inboxRoutes(core, { lists, publicUrl }));
  app.route("/", liveRoutes(core, metrics));
  app.route("/http", loungeRoutes(core, { lists, publicUrl }));
  for (const socket of sockets) app.route("/", socket);

  app.onError(createErrorHandler(log));
  app.notFound(createNotFoundHandler(app as never));
  return app;
}
