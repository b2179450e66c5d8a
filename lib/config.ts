// Every setting is an environment variable, read once into this typed config.
// A bad value stops start-up with one line naming the variable (see ConfigError).
import { z } from "zod";
import { LIMITS } from "./limits.ts";
import type { UploadSettings } from "./uploads.ts";

const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;

/** "90", "90s", "15m", "24h" or "7d" → seconds. */
function parseDuration(raw: string): number | undefined {
  const m = /^(\d+)\s*([smhd]?)$/.exec(raw.trim());
  if (!m) return undefined;
  const unit = { "": 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as "" | "s" | "m" | "h" | "d"];
  return Number(m[1]) * unit;
}

/** A duration in seconds; `0` is accepted only where it means "off". */
const duration = (fallback: string, { zeroIsOff = false } = {}) =>
  z.string().default(fallback).transform((raw, ctx) => {
    const seconds = parseDuration(raw);
    if (seconds === undefined || (seconds === 0 && !zeroIsOff)) {
      const zero = zeroIsOff ? " (0 turns it off)" : "";
      ctx.addIssue({
        code: "custom",
        message: `must be a duration like 3600, 15m, 24h or 7d${zero}`,
      });
      return z.NEVER;
    }
    return seconds;
  });

const int = (fallback: number, min: number, max: number) =>
  z.string().default(String(fallback)).transform((raw, ctx) => {
    const n = Number(raw);
    if (!/^\s*\d+\s*$/.test(raw) || n < min || n > max) {
      ctx.addIssue({ code: "custom", message: `must be a whole number from ${min} to ${max}` });
      return z.NEVER;
    }
    return n;
  });

const bool = (fallback: boolean) =>
  z.string().default(String(fallback)).transform((raw, ctx) => {
    const v = raw.trim().toLowerCase();
    if (["1", "true", "yes", "on"].includes(v)) return true;
    if (["0", "false", "no", "off", ""].includes(v)) return false;
    ctx.addIssue({ code: "custom", message: "must be true or false" });
    return z.NEVER;
  });

const list = (fallback: string) =>
  z.string().default(fallback).transform((raw) =>
    raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0)
  );

const databaseUrl = z.string().default("file:./data/chat.db").refine(
  (url) => /^(file:|libsql:\/\/|https?:\/\/|wss?:\/\/|postgres(ql)?:\/\/)/.test(url),
  "must start with file:, libsql://, http(s)://, ws(s)://, postgres:// or postgresql://",
);

/** The environment variables, their defaults and their checks. README lists the same table. */
const envSchema = z.object({
  HOST: z.string().min(1).default("0.0.0.0"),
  PORT: int(8000, 0, 65535),
  DATA_DIR: z.string().min(1).default("./data"),
  DATABASE_URL: databaseUrl,
  DATABASE_AUTH_TOKEN: z.string().optional(),
  DATABASE_SYNC: z.string().default("normal").transform((raw, ctx) => {
    const v = raw.trim().toUpperCase();
    if (v === "NORMAL" || v === "FULL") return v;
    ctx.addIssue({ code: "custom", message: "must be normal or full" });
    return z.NEVER;
  }),
  DATABASE_POOL_SIZE: int(10, 1, 1000),
  DATABASE_STATEMENT_TIMEOUT: duration("30s", { zeroIsOff: true }),
  DATABASE_CONNECT_TIMEOUT: duration("5s"),
  UPLOAD_DIR: z.string().min(1).optional(),
  UPLOAD_MAX_BYTES: int(10 * 1024 * 1024, 1, 1024 * 1024 * 1024),
  // S3 signs a GET URL for at most 7 days.
  UPLOAD_URL_TTL: duration("1h").refine((s) => s <= 7 * 86400, "must be at most 7d"),
  UPLOAD_ALLOW_ANONYMOUS: bool(false),
  UPLOAD_ANONYMOUS_RATE: int(10, 1, 1_000_000),
  UPLOAD_ANONYMOUS_BURST: int(5, 1, 1_000_000),
  S3_BUCKET: z.string().min(1).optional(),
  S3_ENDPOINT: z.url({
    protocol: /^https?$/,
    error: "must be an http(s) URL like http://127.0.0.1:9000",
  }).optional(),
  S3_FORCE_PATH_STYLE: bool(false),
  AWS_REGION: z.string().min(1).default("us-east-1"),
  AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
  AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  AWS_SESSION_TOKEN: z.string().min(1).optional(),
  JWT_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  ACCESS_TOKEN_TTL: duration("24h"),
  REFRESH_TOKEN_TTL: duration("7d"),
  REFRESH_ROTATION: bool(false),
  REFRESH_REUSE_LEEWAY: duration("10s", { zeroIsOff: true }),
  PASSWORD_ITERATIONS: int(870000, 1000, 10_000_000),
  PASSWORD_MIN_LENGTH: int(8, 1, 128),
  MESSAGE_MAX_LENGTH: int(4000, 1, 1_000_000),
  LOGIN_MAX_FAILURES: int(10, 1, 1_000_000),
  LOGIN_FAILURE_WINDOW: duration("15m"),
  LOGIN_SLOWDOWN_MAX: duration("10s", { zeroIsOff: true }),
  TRUST_PROXY: int(0, 0, 32),
  LOGIN_RATE: int(1, 1, 1_000_000),
  LOGIN_BURST: int(20, 1, 1_000_000),
  REFRESH_RATE: int(2, 1, 1_000_000),
  REFRESH_BURST: int(60, 1, 1_000_000),
  PASSWORD_CONCURRENCY: int(2, 1, 1024),
  PASSWORD_QUEUE: int(32, 0, 100_000),
  MAX_BODY_BYTES: int(1024 * 1024, 1024, 1024 * 1024 * 1024),
  CORS_ORIGINS: list("*"),
  SOCKETIO_PATH: z.string().regex(/^\/[\w./-]*$/, "must be a URL path like /socket.io/")
    .default("/socket.io/"),
  SOCKETIO_PING_INTERVAL: int(25_000, 100, 3_600_000),
  SOCKETIO_PING_TIMEOUT: int(20_000, 100, 3_600_000),
  SOCKETIO_MAX_PAYLOAD: int(1_000_000, 1024, 100_000_000),
  SOCKETIO_CONNECT_TIMEOUT: int(45_000, 100, 3_600_000),
  SOCKETIO_MAX_BUFFERED_BYTES: int(8 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
  SOCKETIO_RECOVERY_WINDOW: duration("2m"),
  SOCKETIO_RECOVERY_MAX_EVENTS: int(10_000, 1, 10_000_000),
  SOCKETIO_RECOVERY_MAX_BYTES: int(16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
  SOCKETIO_RECOVERY_MAX_SESSIONS: int(10_000, 1, 10_000_000),
  SOCKETIO_MAX_PENDING_PER_ADDRESS: int(32, 1, 100_000),
  WS_MAX_MESSAGE_BYTES: int(64 * 1024, 128, 16 * 1024 * 1024),
  WS_MAX_BUFFERED_BYTES: int(4 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
  SOCKET_FRAME_RATE: int(50, 1, 1_000_000),
  SOCKET_FRAME_BURST: int(200, 1, 1_000_000),
  SOCKET_INBOUND_QUEUE: int(32, 1, 100_000),
  SEND_RATE: int(5, 1, 1_000_000),
  SEND_BURST: int(30, 1, 1_000_000),
  HISTORY_MAX: int(LIMITS.historyMax, 1, 10_000_000),
  MEET_MESSAGES_SHAPE: z.string().default("array").transform((raw, ctx) => {
    const v = raw.trim().toLowerCase();
    if (v === "array" || v === "results") return v;
    ctx.addIssue({ code: "custom", message: "must be array or results" });
    return z.NEVER;
  }),
  LOUNGE_INIT_TIMEOUT: duration("10s"),
  SMTP_URL: z.string().regex(/^smtps?:\/\/[^/]+/, "must be a URL like smtp://user:pass@host:587")
    .optional(),
  MAIL_FROM: z.string().min(1).default("chat <no-reply@localhost>"),
  SIGNUP_TOKEN_TTL: duration("24h"),
  SIGNUP_RATE: int(10, 1, 1_000_000),
  SIGNUP_BURST: int(5, 1, 1_000_000),
  SIGNUP_EMAIL_INTERVAL: duration("60s", { zeroIsOff: true }),
  BOT_API_URL: z.url("must be an absolute URL like https://api.openai.com/v1").optional(),
  BOT_API_KEY: z.string().min(1).optional(),
  BOT_MODEL: z.string().min(1).default("gpt-4o-mini"),
  BOT_TIMEOUT: duration("20s"),
  BOT_CONCURRENCY: int(8, 1, 10_000),
  REDIS_URL: z.string().regex(/^rediss?:\/\/[^/]+/, "must be a URL like redis://127.0.0.1:6379")
    .optional(),
  REDIS_PREFIX: z.string().regex(/^[\w.-]{1,64}$/, "must be letters, digits, _ . or - (at most 64)")
    .default("chat"),
  REDIS_QUEUE: int(10_000, 1, 10_000_000),
  PRESENCE_HEARTBEAT: duration("5s"),
  PRESENCE_TTL: duration("15s"),
  PUBLIC_URL: z.url("must be an absolute URL like https://chat.example.com").optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
  SEED_DEMO: bool(false),
  METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  METRICS_PUBLIC: bool(false),
  SHUTDOWN_TIMEOUT: duration("10s"),
});

/** Every variable the service reads (the README's configuration table lists each one). */
export const ENV_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

export type LogLevel = typeof LOG_LEVELS[number];

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /**
   * `synchronous`: NORMAL survives a process crash, FULL also a power loss (local files).
   * PostgreSQL: connections per process, statement and connect timeouts (ms; 0: none).
   */
  database: {
    url: string;
    authToken?: string;
    synchronous: "NORMAL" | "FULL";
    poolSize: number;
    statementTimeoutMs: number;
    connectTimeoutMs: number;
  };
  uploadDir: string;
  /** Attachments: where (uploadDir, or S3 when S3_BUCKET is set), how large, URL lifetime. */
  uploads: UploadSettings;
  /** Undefined until resolveJwtSecret() fills it from the data directory. */
  jwtSecret?: string;
  accessTokenTtl: number;
  refreshTokenTtl: number;
  /** Replace the refresh token at each refresh, with reuse detection. */
  refreshRotation: boolean;
  /** Seconds a just-replaced refresh token still gets the same pair back. */
  refreshReuseLeeway: number;
  passwordIterations: number;
  passwordMinLength: number;
  messageMaxLength: number;
  maxBodyBytes: number;
  loginMaxFailures: number;
  loginFailureWindow: number;
  /** Longest delay before answering a login whose name failed too often from anywhere (s). */
  loginSlowdownMax: number;
  /** X-Forwarded-For hops to believe for the client address; 0 = the peer's address. */
  trustProxy: number;
  /** Logins and registrations one client address may make per second, and the burst. */
  loginRate: { rate: number; burst: number };
  /** Token refreshes one client address may make per second, and the burst. */
  refreshRate: { rate: number; burst: number };
  /** Password hashes computed at once, and how many may wait (503 beyond). */
  passwordHashing: { concurrency: number; queue: number };
  corsOrigins: string[];
  socketio: {
    path: string;
    /** ms */
    pingInterval: number;
    pingTimeout: number;
    maxPayload: number;
    connectTimeout: number;
    maxBufferedBytes: number;
    /** Connection state recovery window, ms. */
    recoveryWindow: number;
    /** Most broadcasts, and bytes of them, kept for recovery; most dropped clients kept. */
    recoveryMaxEvents: number;
    recoveryMaxBytes: number;
    recoveryMaxSessions: number;
    /** Engine.IO sessions one address may hold before it has connected (authenticated). */
    maxPendingPerAddress: number;
  };
  /** Largest frame the raw WebSocket faces accept (1009 beyond). */
  wsMaxMessageBytes: number;
  /** Bytes a raw WebSocket client may leave unread before it is cut (1013). */
  wsMaxBufferedBytes: number;
  /** What one realtime connection may send: frames (or events) per second, burst, queued. */
  socketFrames: { rate: number; burst: number; queue: number };
  /** Messages one user may send per second, and the burst, over all their connections. */
  sendRate: { rate: number; burst: number };
  /** Most messages a whole-history response returns (the newest; headers say how to page). */
  historyMax: number;
  /**
   * meet's room history: the document's bare array, or the original front-end's
   * `{"results": [...]}` paged by `?before=<time>&limit=`.
   */
  meetMessagesShape: "array" | "results";
  /** Seconds a lounge socket may stay open before its init frame (LOUNGE_INIT_TIMEOUT). */
  loungeInitTimeout: number;
  /** Outgoing mail: the SMTP server (a secret: it holds credentials) and the From header. */
  mail: { smtpUrl?: string; from: string };
  /**
   * E-mail confirmed sign-up: how long a link works (s), sign-ups one client address may start
   * per hour and the burst, and the least time between two mails to one address (s; 0 = off).
   */
  signup: { tokenTtl: number; ratePerHour: number; burst: number; emailInterval: number };
  /**
   * The lounge bot: an OpenAI-compatible API when `apiUrl` is set (the base, e.g.
   * https://api.openai.com/v1), the built-in helper otherwise; answers wait at most
   * `timeout` seconds; at most `concurrency` answers are asked for at once.
   */
  bot: { apiUrl?: string; apiKey?: string; model: string; timeout: number; concurrency: number };
  /**
   * Several nodes: Redis behind the hub and presence (REDIS_URL; a secret, it may hold a
   * password), the prefix of its channel and keys, and the most hub events waiting for it.
   * Unset: one process, the in-memory hub. Set, the desk's connection state recovery also lives
   * in Redis, so a client that dropped from one node resumes on another.
   */
  redis?: { url: string; prefix: string; maxQueued: number };
  /**
   * Presence across nodes: each node's heartbeat (s), and how long after its last one a silent
   * node's users stop counting (s). A killed node's users go offline within ttl + heartbeat.
   */
  presence: { heartbeat: number; ttl: number };
  /** Base of absolute URLs in payloads; by default the origin each client used. */
  publicUrl?: string;
  logLevel: LogLevel;
  seedDemo: boolean;
  /**
   * /metrics: with `token`, only `Authorization: Bearer <token>` may read it; without, it is
   * off (404) unless `public`.
   */
  metrics: { token?: string; public: boolean };
  shutdownTimeout: number;
}

/** A bad setting; its message is the one line printed before exiting. */
export class ConfigError extends Error {
  constructor(readonly variable: string, detail: string, value: string | undefined) {
    const shown = value === undefined ? "" : ` (got ${JSON.stringify(redact(variable, value))})`;
    super(`invalid configuration: ${variable} ${detail}${shown}`);
    this.name = "ConfigError";
  }
}

const SECRETS = new Set([
  "JWT_SECRET",
  "DATABASE_AUTH_TOKEN",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "SMTP_URL",
  "BOT_API_KEY",
  "REDIS_URL",
]);

function redact(variable: string, value: string): string {
  // A database URL may carry a password (postgres://user:secret@host/db).
  if (variable === "DATABASE_URL") return value.replace(/(\/\/[^:/@]*:)[^@]*@/, "$1<redacted>@");
  return SECRETS.has(variable) ? "<redacted>" : value;
}

/** Reads the settings from `env` (the process environment by default). Throws ConfigError. */
export function loadConfig(env: Record<string, string | undefined> = Deno.env.toObject()): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue.path[0]);
    const detail = issue.code === "invalid_value"
      ? `must be one of ${LOG_LEVELS.join(", ")}`
      : issue.message;
    throw new ConfigError(variable, detail, env[variable]);
  }
  const e = parsed.data;
  const dataDir = e.DATA_DIR.replace(/\/+$/, "");
  if ((e.AWS_ACCESS_KEY_ID === undefined) !== (e.AWS_SECRET_ACCESS_KEY === undefined)) {
    const missing = e.AWS_ACCESS_KEY_ID === undefined
      ? "AWS_ACCESS_KEY_ID"
      : "AWS_SECRET_ACCESS_KEY";
    throw new ConfigError(missing, "must be set with the other AWS key variable", undefined);
  }
  if (e.PRESENCE_TTL <= e.PRESENCE_HEARTBEAT) {
    throw new ConfigError(
      "PRESENCE_TTL",
      "must be longer than PRESENCE_HEARTBEAT",
      env.PRESENCE_TTL,
    );
  }
  const uploadDir = e.UPLOAD_DIR ?? `${dataDir}/uploads`;
  return {
    host: e.HOST,
    port: e.PORT,
    dataDir,
    database: {
      url: e.DATABASE_URL,
      authToken: e.DATABASE_AUTH_TOKEN,
      synchronous: e.DATABASE_SYNC,
      poolSize: e.DATABASE_POOL_SIZE,
      statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT * 1000,
      connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT * 1000,
    },
    uploadDir,
    uploads: {
      dir: uploadDir,
      maxBytes: e.UPLOAD_MAX_BYTES,
      urlTtl: e.UPLOAD_URL_TTL,
      allowAnonymous: e.UPLOAD_ALLOW_ANONYMOUS,
      anonymousRate: { perMinute: e.UPLOAD_ANONYMOUS_RATE, burst: e.UPLOAD_ANONYMOUS_BURST },
      s3: e.S3_BUCKET === undefined ? undefined : {
        bucket: e.S3_BUCKET,
        endpoint: e.S3_ENDPOINT,
        forcePathStyle: e.S3_FORCE_PATH_STYLE,
        region: e.AWS_REGION,
        credentials: e.AWS_ACCESS_KEY_ID === undefined ? undefined : {
          accessKeyId: e.AWS_ACCESS_KEY_ID,
          secretAccessKey: e.AWS_SECRET_ACCESS_KEY!,
          sessionToken: e.AWS_SESSION_TOKEN,
        },
      },
    },
    jwtSecret: e.JWT_SECRET,
    accessTokenTtl: e.ACCESS_TOKEN_TTL,
    refreshTokenTtl: e.REFRESH_TOKEN_TTL,
    refreshRotation: e.REFRESH_ROTATION,
    refreshReuseLeeway: e.REFRESH_REUSE_LEEWAY,
    passwordIterations: e.PASSWORD_ITERATIONS,
    passwordMinLength: e.PASSWORD_MIN_LENGTH,
    messageMaxLength: e.MESSAGE_MAX_LENGTH,
    maxBodyBytes: e.MAX_BODY_BYTES,
    loginMaxFailures: e.LOGIN_MAX_FAILURES,
    loginFailureWindow: e.LOGIN_FAILURE_WINDOW,
    loginSlowdownMax: e.LOGIN_SLOWDOWN_MAX,
    trustProxy: e.TRUST_PROXY,
    loginRate: { rate: e.LOGIN_RATE, burst: e.LOGIN_BURST },
    refreshRate: { rate: e.REFRESH_RATE, burst: e.REFRESH_BURST },
    passwordHashing: { concurrency: e.PASSWORD_CONCURRENCY, queue: e.PASSWORD_QUEUE },
    corsOrigins: e.CORS_ORIGINS,
    socketio: {
      path: e.SOCKETIO_PATH.replace(/\/?$/, "/"),
      pingInterval: e.SOCKETIO_PING_INTERVAL,
      pingTimeout: e.SOCKETIO_PING_TIMEOUT,
      maxPayload: e.SOCKETIO_MAX_PAYLOAD,
      connectTimeout: e.SOCKETIO_CONNECT_TIMEOUT,
      maxBufferedBytes: e.SOCKETIO_MAX_BUFFERED_BYTES,
      recoveryWindow: e.SOCKETIO_RECOVERY_WINDOW * 1000,
      recoveryMaxEvents: e.SOCKETIO_RECOVERY_MAX_EVENTS,
      recoveryMaxBytes: e.SOCKETIO_RECOVERY_MAX_BYTES,
      recoveryMaxSessions: e.SOCKETIO_RECOVERY_MAX_SESSIONS,
      maxPendingPerAddress: e.SOCKETIO_MAX_PENDING_PER_ADDRESS,
    },
    wsMaxMessageBytes: e.WS_MAX_MESSAGE_BYTES,
    wsMaxBufferedBytes: e.WS_MAX_BUFFERED_BYTES,
    socketFrames: {
      rate: e.SOCKET_FRAME_RATE,
      burst: e.SOCKET_FRAME_BURST,
      queue: e.SOCKET_INBOUND_QUEUE,
    },
    sendRate: { rate: e.SEND_RATE, burst: e.SEND_BURST },
    historyMax: e.HISTORY_MAX,
    meetMessagesShape: e.MEET_MESSAGES_SHAPE,
    loungeInitTimeout: e.LOUNGE_INIT_TIMEOUT,
    mail: { smtpUrl: e.SMTP_URL, from: e.MAIL_FROM },
    signup: {
      tokenTtl: e.SIGNUP_TOKEN_TTL,
      ratePerHour: e.SIGNUP_RATE,
      burst: e.SIGNUP_BURST,
      emailInterval: e.SIGNUP_EMAIL_INTERVAL,
    },
    bot: {
      apiUrl: e.BOT_API_URL?.replace(/\/+$/, ""),
      apiKey: e.BOT_API_KEY,
      model: e.BOT_MODEL,
      timeout: e.BOT_TIMEOUT,
      concurrency: e.BOT_CONCURRENCY,
    },
    redis: e.REDIS_URL === undefined
      ? undefined
      : { url: e.REDIS_URL, prefix: e.REDIS_PREFIX, maxQueued: e.REDIS_QUEUE },
    presence: { heartbeat: e.PRESENCE_HEARTBEAT, ttl: e.PRESENCE_TTL },
    publicUrl: e.PUBLIC_URL?.replace(/\/+$/, ""),
    logLevel: e.LOG_LEVEL,
    seedDemo: e.SEED_DEMO,
    metrics: { token: e.METRICS_TOKEN, public: e.METRICS_PUBLIC },
    shutdownTimeout: e.SHUTDOWN_TIMEOUT,
  };
}

/**
 * The JWT secret: JWT_SECRET when set, otherwise one generated on first start and kept in
 * `<DATA_DIR>/jwt_secret` (mode 600). Two processes starting at once agree on one file.
 */
export async function resolveJwtSecret(config: Config): Promise<string> {
  if (config.jwtSecret) return config.jwtSecret;
  const path = `${config.dataDir}/jwt_secret`;
  await Deno.mkdir(config.dataDir, { recursive: true });
  const bytes = crypto.getRandomValues(new Uint8Array(48));
  const fresh = btoa(String.fromCharCode(...bytes));
  try {
    await Deno.writeTextFile(path, fresh, { createNew: true, mode: 0o600 });
    return fresh;
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
  }
  // Another process may have created the file an instant ago and not yet written it.
  for (let attempt = 0; attempt < 50; attempt++) {
    const existing = (await Deno.readTextFile(path)).trim();
    if (existing.length >= 32) return existing;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new ConfigError("JWT_SECRET", `is unset and ${path} holds no usable secret`, undefined);
}

/** The part of the configuration the core needs. */
export function coreSettings(config: Config, jwtSecret: string) {
  return {
    jwtSecret,
    accessTokenTtl: config.accessTokenTtl,
    refreshTokenTtl: config.refreshTokenTtl,
    refreshRotation: config.refreshRotation,
    refreshReuseLeeway: config.refreshReuseLeeway,
    passwordIterations: config.passwordIterations,
    passwordMinLength: config.passwordMinLength,
    messageMaxLength: config.messageMaxLength,
    loginMaxFailures: config.loginMaxFailures,
    loginFailureWindow: config.loginFailureWindow,
    loginSlowdownMax: config.loginSlowdownMax,
    loginRate: config.loginRate.rate,
    loginBurst: config.loginRate.burst,
    refreshRate: config.refreshRate.rate,
    refreshBurst: config.refreshRate.burst,
    passwordConcurrency: config.passwordHashing.concurrency,
    passwordQueue: config.passwordHashing.queue,
    sendRate: config.sendRate.rate,
    sendBurst: config.sendRate.burst,
    historyMax: config.historyMax,
    uploads: config.uploads,
    signupTokenTtl: config.signup.tokenTtl,
    signupRatePerHour: config.signup.ratePerHour,
    signupBurst: config.signup.burst,
    signupEmailInterval: config.signup.emailInterval,
    botTimeoutMs: config.bot.timeout * 1000,
    botConcurrency: config.bot.concurrency,
  };
}
