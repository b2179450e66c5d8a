// E-mail confirmed sign-up (lounge): registering stores a pending sign-up and mails a link;
// opening the link creates the account. Only a hash of the link's token is stored, and the
// password only in its hashed form. Nothing is half-created: a mail that cannot be sent takes
// its pending row with it, and a link creates one account at most, also when opened twice at
// once.
import type { Db } from "@/db/client.ts";
import { isUniqueViolation } from "@/db/errors.ts";
import { replacePendingSignup, takePendingSignup } from "@/db/signups.ts";
import { emailTaken, insertUser, toUser, usernameTaken } from "@/db/users.ts";
import { type Accounts, RESERVED_USERNAMES, usernameCandidates } from "./accounts.ts";
import { NotFound, RateLimited, Unavailable, ValidationError } from "./errors.ts";
import { type EventSink, topic } from "./events.ts";
import type { Logger } from "./log.ts";
import type { Mail, Mailer } from "./mail.ts";
import type { Metrics } from "./metrics.ts";
import { type RateLimiter, takeOrRefuse } from "./rate.ts";
import type { User } from "./records.ts";
import { createThrottle } from "./throttle.ts";

export interface SignupInput {
  email: string;
  password: string;
  firstName: string;
  lastName: string;
}

export interface SignupsDeps {
  db: Db;
  events: EventSink;
  accounts: Accounts;
  mailer: Mailer;
  log: Logger;
  metrics: Metrics;
  now: () => number;
  /** Seconds a confirmation link works. */
  tokenTtl: number;
  /** Sign-ups per client address; none when left out. */
  clientLimiter?: RateLimiter;
  /** Least seconds between two mails to one address; 0 = no such limit. */
  emailInterval: number;
  /** Seconds a caller is told to wait when the mail could not be sent. */
  mailRetryAfter?: number;
}

/** Longest token confirm() looks at: ours are 43 characters; anything far longer is forged. */
const MAX_TOKEN_LENGTH = 256;

/** 256 random bits, URL-safe. */
function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

/** What is stored for a token: its SHA-256 (the token is random, so no salt or stretching). */
async function hashToken(token: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** "24 hours", "30 minutes": how long the link works, for the mail. */
function lifetime(seconds: number): string {
  const [n, unit] = seconds % 3600 === 0
    ? [seconds / 3600, "hour"]
    : seconds % 60 === 0
    ? [seconds / 60, "minute"]
    : [seconds, "second"];
  return `${n} ${unit}${n === 1 ? "" : "s"}`;
}

/** The confirmation mail. */
export function confirmationMail(to: string, firstName: string, url: string, ttl: number): Mail {
  const hello = firstName ? `Hello ${firstName},` : "Hello,";
  const text = [
    hello,
    "",
    "please open this link to confirm your e-mail address and create your account:",
    "",
    url,
    "",
    `The link works for ${lifetime(ttl)}. If you did not sign up, ignore this mail.`,
  ].join("\n");
  const html = `<p>${escapeHtml(hello)}</p>` +
    `<p>please open <a href="${escapeHtml(url)}">this link</a> to confirm your e-mail address ` +
    `and create your account.</p>` +
    `<p>The link works for ${lifetime(ttl)}. If you did not sign up, ignore this mail.</p>`;
  return { to, subject: "Confirm your registration", text, html };
}

type Outcome =
  | { kind: "created"; user: User }
  | { kind: "refused"; error: NotFound | ValidationError };

export function createSignups(deps: SignupsDeps) {
  const { db, events, accounts, mailer, log, metrics, now } = deps;
  const mailRetryAfter = deps.mailRetryAfter ?? 30;
  // One mail per address per interval; given back when the mail was not sent.
  const perEmail = deps.emailInterval > 0
    ? createThrottle({ max: 1, windowMs: deps.emailInterval * 1000, now })
    : undefined;

  /**
   * Starts a sign-up: checks the fields as account creation does, stores the pending sign-up
   * (replacing an earlier one for the address) and mails `link(token)`. `client` is the
   * caller's address, for the per-address limit. Throws ValidationError, RateLimited,
   * Overloaded (hashing) or Unavailable("mail") when the mail server refused or was away;
   * then nothing is kept.
   */
  async function start(
    input: SignupInput,
    link: (token: string) => string,
    client?: string,
  ): Promise<void> {
    if (deps.clientLimiter && client !== undefined) {
      await takeOrRefuse(deps.clientLimiter, client, () => {
        metrics.throttled.inc({ limit: "signup" });
      });
    }
    const email = input.email.trim();
    const fields = { ...input, email };
    await accounts.checkSignup(fields);
    const key = email.toLowerCase();
    const wait = perEmail?.reserve(key) ?? 0;
    if (wait > 0) {
      metrics.throttled.inc({ limit: "signup_email" });
      throw new RateLimited(wait);
    }
    let mail: Mail;
    let tokenHash: string;
    try {
      const token = randomToken();
      mail = confirmationMail(email, input.firstName, link(token), deps.tokenTtl);
      const password = await accounts.hashNewPassword(input.password);
      tokenHash = await hashToken(token);
      const at = now();
      await replacePendingSignup(db, {
        tokenHash,
        email,
        password,
        firstName: input.firstName,
        lastName: input.lastName,
        createdAt: at,
        expiresAt: at + deps.tokenTtl * 1000,
      });
    } catch (err) {
      perEmail?.release(key);
      throw err;
    }
    try {
      // Outside any transaction: the mail server may take seconds.
      await mailer.send(mail);
    } catch (err) {
      perEmail?.release(key);
      // Stored but not mailed: nobody holds the link, so the row goes.
      await takePendingSignup(db, tokenHash).catch((cleanup) => {
        log.error("pending sign-up left after a mail failure", { error: cleanup });
      });
      log.warn("confirmation mail not sent", { error: mailFailure(err) });
      throw new Unavailable("mail", mailRetryAfter);
    }
  }

  /**
   * Opens a confirmation link: creates the account (e-mail verified, username derived from
   * the e-mail as registration does) and removes the pending sign-up in one transaction, then
   * tells everyone. NotFound("signup") for a link that is unknown, used, expired or forged;
   * ValidationError on `email` when the address got an account meanwhile.
   */
  async function confirm(token: string): Promise<User> {
    if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      throw new NotFound("signup");
    }
    const tokenHash = await hashToken(token);
    let outcome: Outcome;
    try {
      outcome = await db.transaction().execute(async (trx): Promise<Outcome> => {
        // Taking the row first: of two confirms at once, the second finds nothing.
        const row = await takePendingSignup(trx, tokenHash);
        if (!row || row.expires_at <= now()) {
          return { kind: "refused", error: new NotFound("signup") };
        }
        if (await emailTaken(trx, row.email)) {
          return { kind: "refused", error: ValidationError.of("email", { code: "email_taken" }) };
        }
        for (const username of usernameCandidates(row.email)) {
          if (
            RESERVED_USERNAMES.has(username.toLowerCase()) || await usernameTaken(trx, username)
          ) {
            continue;
          }
          const user = await insertUser(trx, {
            username,
            email: row.email,
            password: row.password,
            first_name: row.first_name,
            last_name: row.last_name,
            role: "member",
            image: "",
            email_verified: 1,
            is_bot: 0,
            date_joined: now(),
            last_seen: null,
            current_room_id: null,
          });
          return { kind: "created", user: toUser(user) };
        }
        return {
          kind: "refused",
          error: ValidationError.of("email", { code: "no_free_username" }),
        };
      });
    } catch (err) {
      // Only another process could slip in between; the pending row stays (rolled back).
      if (isUniqueViolation(err, "users.email")) {
        throw ValidationError.of("email", { code: "email_taken" });
      }
      throw err;
    }
    // A refused link is gone for good (committed above): it can never create an account.
    if (outcome.kind === "refused") throw outcome.error;
    events.publish(topic.everyone, { type: "user.updated", user: outcome.user });
    return outcome.user;
  }

  return { start, confirm };
}

/** A mail failure for the log: its kind and the server's answer, never the SMTP URL. */
function mailFailure(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const e = err as Error & { code?: unknown; responseCode?: unknown };
  return { name: e.name, message: e.message, code: e.code, responseCode: e.responseCode };
}

export type Signups = ReturnType<typeof createSignups>;
