// Wires configuration, database, hub and HTTP app together and serves them.
// `deno task start` runs this file; tests import startServer() to run one on port 0.
import { openDatabase } from "@/db/client.ts";
import { migrate } from "@/db/migrate.ts";
import { ConfigError, coreSettings, loadConfig, resolveJwtSecret } from "@/lib/config.ts";
import type { Config } from "@/lib/config.ts";
import { type Core, createCore } from "@/lib/core.ts";
import { databaseUnavailable } from "@/lib/errors.ts";
import { DEMO_USERNAMES, seedDemoAccounts } from "@/lib/demo.ts";
import { createLogger, type Logger } from "@/lib/log.ts";
import { createMailer } from "@/lib/mail.ts";
import { createOpenAiBot } from "@/lib/bot/openai.ts";
import { createMetrics, type Metrics } from "@/lib/metrics.ts";
import type { DomainEvent } from "@/lib/events.ts";
import { createMemoryHub, type Hub } from "@/realtime/hub.ts";
import { createRedisCluster, redactUrl } from "@/realtime/redis/mod.ts";
import { attachDeskSocket } from "@/faces/desk/socket.ts";
import { createMeetSocket } from "@/faces/meet/socket.ts";
import { createInboxSocket } from "@/faces/inbox/socket.ts";
import { createLoungeSocket } from "@/faces/lounge/socket.ts";
import { createSocketServer } from "@/realtime/socketio_server.ts";
import type { SocketServer } from "@/realtime/socketio/mod.ts";
import { createApp } from "@/routes/app.ts";
import { devBanner } from "@/routes/banner.ts";
import type { AppEnv } from "@/routes/context.ts";
import type { Hono } from "hono";
import { ListAborted } from "@/routes/list_stream.ts";

export interface StartOptions {
  /** Environment to read the configuration from (default: the process environment). */
  env?: Record<string, string | undefined>;
  /** The core's clock in ms since the epoch (tokens, message times); tests may move it. */
  now?: () => number;
}

export interface RunningServer {
  config: Config;
  url: string;
  port: number;
  core: Core;
  hub: Hub;
  io: SocketServer;
  log: Logger;
  metrics: Metrics;
  /** The HTTP application (its route table is what the OpenAPI document must describe). */
  app: Hono<AppEnv>;
  /** Stops accepting, lets in-flight requests finish, then closes hub and database. */
  close(): Promise<void>;
}

/** The demo accounts that exist (for the banner of a start that did not create them). */
async function existingDemoUsers(core: Core): Promise<string[]> {
  const found: string[] = [];
  for (const username of DEMO_USERNAMES) {
    if (await core.accounts.getByUsername(username).catch(() => undefined)) found.push(username);
  }
  return found;
}

export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const config = loadConfig(options.env);
  const log = createLogger(config.logLevel);
  const jwtSecret = await resolveJwtSecret(config);

  const database = await openDatabase({ ...config.database, unavailable: databaseUnavailable });
  const applied = await migrate(database);
  if (applied.length > 0) log.info("migrations applied", { versions: applied });

  const metrics = createMetrics();
  const onListenerError = (error: unknown, topic: string, event: DomainEvent) =>
    log.error("hub listener failed", { topic, event: event.type, error });
  // Several nodes: Redis behind the hub and presence; one process: the in-memory hub.
  const cluster = config.redis
    ? createRedisCluster({
      url: config.redis.url,
      prefix: config.redis.prefix,
      maxQueued: config.redis.maxQueued,
      heartbeatMs: config.presence.heartbeat * 1000,
      ttlMs: config.presence.ttl * 1000,
      log,
      metrics,
      onListenerError,
    })
    : undefined;
  if (cluster) {
    log.info("hub over redis", { url: redactUrl(config.redis!.url), node: cluster.nodeId });
  }
  const hub = cluster?.hub ?? createMemoryHub({ onListenerError });
  const core = createCore({
    db: database.db,
    // Counted on the way in (hub publishes); the hub itself stays as it is.
    events: { publish: (name, event) => (metrics.hubPublishes.inc(), hub.publish(name, event)) },
    presence: cluster?.presence,
    settings: coreSettings(config, jwtSecret),
    now: options.now,
    metrics,
    log,
    mailer: createMailer({ smtpUrl: config.mail.smtpUrl, from: config.mail.from, log }),
    // The built-in helper unless an OpenAI-compatible API is configured.
    bot: config.bot.apiUrl
      ? createOpenAiBot({
        apiUrl: config.bot.apiUrl,
        apiKey: config.bot.apiKey,
        model: config.bot.model,
      })
      : undefined,
  });

  metrics.beforeScrape(() => metrics.presence.set(core.presence.onlineIds().length));

  // Printed once the server listens (with where everything is), never logged.
  const demo = config.seedDemo ? await seedDemoAccounts(core.accounts) : [];

  const inbound = {
    rate: config.socketFrames.rate,
    burst: config.socketFrames.burst,
    maxQueued: config.socketFrames.queue,
  };
  const wsLimits = {
    maxFrameBytes: config.wsMaxMessageBytes,
    maxBufferedBytes: config.wsMaxBufferedBytes,
    inbound,
  };
  const meetSocket = createMeetSocket({ core, hub, log, metrics, limits: wsLimits });
  const loungeSocket = createLoungeSocket({
    core,
    hub,
    log,
    metrics,
    limits: wsLimits,
    initTimeout: config.loungeInitTimeout,
    bot: core.botChat,
  });
  const inboxSocket = createInboxSocket({
    core,
    hub,
    log,
    metrics,
    limits: {
      maxFrameBytes: config.wsMaxMessageBytes,
      maxBufferedBytes: config.wsMaxBufferedBytes,
      inbound,
    },
    publicUrl: config.publicUrl,
  });
  const app = createApp({
    core,
    log,
    metrics,
    corsOrigins: config.corsOrigins,
    maxBodyBytes: config.maxBodyBytes,
    trustProxy: config.trustProxy,
    sockets: [meetSocket.routes, inboxSocket.routes, loungeSocket.routes],
    publicUrl: config.publicUrl,
    meetMessagesShape: config.meetMessagesShape,
    metricsAccess: config.metrics,
    socketioPath: config.socketio.path,
    degraded: cluster?.problem,
  });

  const io = createSocketServer(config, log);
  const ioHandler = io.handler();
  const detachDesk = attachDeskSocket(io, {
    core,
    hub,
    log,
    metrics,
    inbound,
    publicUrl: config.publicUrl,
  });

  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: config.host,
    port: config.port,
    onListen: (addr) => listening.resolve(addr),
    // What escapes the handlers, or breaks a response body: one log line, no stack on stdout.
    onError: (error) => {
      if (!(error instanceof ListAborted)) log.error("unhandled error", { error });
      return Response.json({ detail: "A server error occurred." }, { status: 500 });
    },
  }, (req, info) => io.handles(new URL(req.url)) ? ioHandler(req, info) : app.fetch(req, info));
  const addr = await listening.promise;
  const shownHost = addr.hostname === "0.0.0.0" ? "localhost" : addr.hostname;
  const url = `http://${shownHost}:${addr.port}`;
  log.info("listening", { url });
  if (config.seedDemo) {
    const existing = demo.length > 0 ? [] : await existingDemoUsers(core);
    console.log(devBanner({
      url: config.publicUrl ?? url,
      socketioPath: config.socketio.path,
      created: demo,
      existing,
      metrics: config.metrics.token !== undefined || config.metrics.public,
    }));
  }

  let closing: Promise<void> | undefined;
  function close(): Promise<void> {
    closing ??= (async () => {
      const stopped = server.shutdown();
      const timeout = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, config.shutdownTimeout * 1000);
        stopped.finally(() => clearTimeout(timer));
      });
      // Open connections are told the server is going away (Socket.IO clients reconnect).
      await io.close();
      detachDesk();
      meetSocket.close();
      inboxSocket.close();
      loungeSocket.close();
      // With Redis: this node's users are taken back (presence) before the hub's last events go.
      await (cluster ?? hub).close();
      await Promise.race([stopped, timeout]);
      core.uploads.close();
      await database.close();
      log.info("stopped");
    })();
    return closing;
  }

  return { config, url, port: addr.port, core, hub, io, log, metrics, app, close };
}

if (import.meta.main) {
  try {
    const running = await startServer();
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      Deno.addSignalListener(signal, () => {
        running.log.info("shutting down", { signal });
        running.close().then(() => Deno.exit(0));
      });
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      Deno.exit(1);
    }
    throw err;
  }
}
