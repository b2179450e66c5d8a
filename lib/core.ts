// The core: every rule of the service, behind one object that faces receive.
import { sql } from "kysely";
import type { Db } from "@/db/client.ts";
import { createAccounts } from "./accounts.ts";
import { createConversations } from "./conversations.ts";
import { createDesk } from "./desk.ts";
import { createGroups } from "./groups.ts";
import type { EventSink } from "./events.ts";
import { createMessages } from "./messages.ts";
import { createRooms } from "./rooms.ts";
import { createPresence, type Presence } from "./presence.ts";
import { createGate } from "./gate.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import { memoryRateLimiter, type RateLimiter } from "./rate.ts";
import { createSignals } from "./signals.ts";
import { createTokens } from "./tokens.ts";
import { createUploads, DEFAULT_UPLOAD_SETTINGS, type UploadSettings } from "./uploads.ts";
import type { Bot } from "./bot/bot.ts";
import { createBotChat } from "./bot/chat.ts";
import { createLogger, type Logger } from "./log.ts";
import { createMailer, type Mailer } from "./mail.ts";
import { createSignups } from "./signups.ts";

export interface CoreSettings {
  jwtSecret: string;
  accessTokenTtl: number;
  refreshTokenTtl: number;
  /** Replace the refresh token at each refresh (off by default, as SimpleJWT). */
  refreshRotation?: boolean;
  /** Seconds a replaced refresh token still gets the same pair back (0: none). */
  refreshReuseLeeway?: number;
  passwordIterations: number;
  passwordMinLength: number;
  messageMaxLength: number;
  loginMaxFailures: number;
  /** Seconds. */
  loginFailureWindow: number;
  /** Longest slow-down of a login name that failed too often across addresses (s); 0 = off. */
  loginSlowdownMax?: number;
  /** Logins and registrations per second one client address may make, and the burst. */
  loginRate?: number;
  loginBurst?: number;
  /** Token refreshes per second one client address may make, and the burst. */
  refreshRate?: number;
  refreshBurst?: number;
  /** Password hashes computed at once, and how many may wait for a turn (503 beyond). */
  passwordConcurrency?: number;
  passwordQueue?: number;
  /** Messages per second one user may send over all connections, and the burst. */
  sendRate?: number;
  sendBurst?: number;
  /** Most messages a whole-history response returns (HISTORY_MAX); LIMITS.historyMax if unset. */
  historyMax?: number;
  /** Attachments: storage, size limit, URL lifetime, anonymous uploads. */
  uploads?: UploadSettings;
  /** Seconds a sign-up's confirmation link works (24 h if unset). */
  signupTokenTtl?: number;
  /** Sign-ups one client address may start per hour, and the burst; no limit if unset. */
  signupRatePerHour?: number;
  signupBurst?: number;
  /** Least seconds between two confirmation mails to one address; 0 or unset = no limit. */
  signupEmailInterval?: number;
  /** How long a bot-chat turn waits for the bot's answer (ms; 20 s if unset). */
  botTimeoutMs?: number;
  /** Bot answers asked for at once over all users (8 if unset). */
  botConcurrency?: number;
}

export interface CoreDeps {
  db: Db;
  events: EventSink;
  settings: CoreSettings;
  /** The clock, in ms since the epoch; tests may move it. */
  now?: () => number;
  /** Who is online; in this process by default (a shared one spans nodes). */
  presence?: Presence;
  /** The per-user send limit; in this process by default (a shared one spans nodes). */
  sendLimiter?: RateLimiter;
  /** Where refusals are counted; a private registry when left out. */
  metrics?: Metrics;
  /** Where the core reports what went wrong outside (mail, bot); silent when left out. */
  log?: Logger;
  /** Outgoing mail (sign-up links); written to `log` when left out. */
  mailer?: Mailer;
  /** What answers in the bot chat; the built-in helper when left out. */
  bot?: Bot;
}

export function createCore({ db, events, settings, now = Date.now, ...deps }: CoreDeps) {
  const metrics = deps.metrics ?? createMetrics();
  // Per-address limits and the hashing bound, only when configured (as the send limit below).
  const perClient = (rate?: number, burst?: number) =>
    rate === undefined ? undefined : memoryRateLimiter({ rate, burst: burst ?? 1, now });
  const tokens = createTokens({
    db,
    events,
    now,
    metrics,
    secret: settings.jwtSecret,
    accessTtl: settings.accessTokenTtl,
    refreshTtl: settings.refreshTokenTtl,
    rotation: settings.refreshRotation ?? false,
    reuseLeeway: settings.refreshReuseLeeway ?? 10,
    clientLimiter: perClient(settings.refreshRate, settings.refreshBurst),
  });
  const hashing = settings.passwordConcurrency === undefined ? undefined : createGate({
    concurrency: settings.passwordConcurrency,
    queue: settings.passwordQueue ?? 0,
    onRefused: () => metrics.throttled.inc({ limit: "password_hashing" }),
  });
  const accounts = createAccounts({
    db,
    events,
    tokens,
    now,
    metrics,
    passwordIterations: settings.passwordIterations,
    passwordMinLength: settings.passwordMinLength,
    loginMaxFailures: settings.loginMaxFailures,
    loginFailureWindow: settings.loginFailureWindow,
    loginSlowdownMax: settings.loginSlowdownMax ?? 0,
    clientLimiter: perClient(settings.loginRate, settings.loginBurst),
    hashing,
  });
  const rooms = createRooms({ db, events, now, messageMaxLength: settings.messageMaxLength });
  // No limit unless configured: scripts and tests that build a core use it freely.
  const sendLimiter = deps.sendLimiter ?? (settings.sendRate === undefined ? undefined : (
    memoryRateLimiter({ rate: settings.sendRate, burst: settings.sendBurst ?? 1, now })
  ));
  const messages = createMessages({
    db,
    events,
    now,
    messageMaxLength: settings.messageMaxLength,
    sendLimiter,
    metrics,
    historyMax: settings.historyMax,
  });
  const presence = deps.presence ?? createPresence(events);
  const desk = createDesk({ db, events, rooms, messages, now });
  const groups = createGroups({ db, events, rooms, messages, now });
  const signals = createSignals(events);
  const conversations = createConversations({ db, events, rooms, messages, presence });
  const uploads = createUploads({
    db,
    now,
    metrics,
    settings: settings.uploads ?? DEFAULT_UPLOAD_SETTINGS,
  });
  const log = deps.log ?? createLogger("silent");
  const signups = createSignups({
    db,
    events,
    accounts,
    mailer: deps.mailer ?? createMailer({ from: "chat <no-reply@localhost>", log }),
    log,
    metrics,
    now,
    tokenTtl: settings.signupTokenTtl ?? 86400,
    clientLimiter: settings.signupRatePerHour === undefined ? undefined : memoryRateLimiter({
      rate: settings.signupRatePerHour / 3600,
      burst: settings.signupBurst ?? 1,
      now,
    }),
    emailInterval: settings.signupEmailInterval ?? 0,
  });
  const botChat = createBotChat({
    db,
    events,
    accounts,
    rooms,
    messages,
    presence,
    log,
    metrics,
    now,
    bot: deps.bot,
    timeoutMs: settings.botTimeoutMs ?? 20_000,
    concurrency: settings.botConcurrency ?? 8,
    messageMaxLength: settings.messageMaxLength,
  });

  /** True when the database answers. */
  async function ready(): Promise<boolean> {
    try {
      await sql`SELECT 1`.execute(db);
      return true;
    } catch {
      return false;
    }
  }

  return {
    accounts,
    tokens,
    rooms,
    messages,
    desk,
    groups,
    conversations,
    presence,
    signals,
    uploads,
    signups,
    botChat,
    /** The bound on password hashing, when configured (its counters are for tests). */
    passwordHashing: hashing,
    ready,
  };
}

export type Core = ReturnType<typeof createCore>;
