// Access and refresh tokens: HS256 JWTs with Django SimpleJWT's claims (token_type, user_id,
// jti, iat, exp) plus `sid`, the login session they belong to. Every verification checks the
// session is live and the user active, so logout and deactivation take effect at once.
// A refresh answers a new access token and, only with rotation on, a new refresh token too.
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import type { Db } from "@/db/client.ts";
import {
  findRefreshToken,
  findSessionUser,
  insertRefreshToken,
  insertSession,
  markRefreshTokenUsed,
  revokeSession,
  revokeUserSessions,
} from "@/db/sessions.ts";
import { toUser } from "@/db/users.ts";
import { AuthenticationError } from "./errors.ts";
import { type EventSink, topic } from "./events.ts";
import type { Metrics } from "./metrics.ts";
import { type RateLimiter, takeOrRefuse } from "./rate.ts";
import type { Principal } from "./records.ts";

export interface TokenPair {
  access: string;
  refresh: string;
}

/** What a refresh answers: SimpleJWT's `{access}`, plus the new refresh token when rotating. */
export interface Refreshed {
  access: string;
  refresh?: string;
}

export type TokenType = "access" | "refresh";

/** An access token a connection was verified with, what it proved, and until when (ms). */
export interface VerifiedToken {
  token: string;
  principal: Principal;
  expiresAt: number;
}

interface Claims {
  token_type: TokenType;
  user_id: number;
  jti: string;
  sid: string;
  iat: number;
  exp: number;
}

export interface TokensDeps {
  db: Db;
  events: EventSink;
  secret: string;
  /** Lifetimes in seconds. */
  accessTtl: number;
  refreshTtl: number;
  /**
   * Off: a refresh token stays valid until it expires or its session ends (SimpleJWT's
   * default, what the documents show). On: each refresh replaces it, and presenting a
   * replaced one again revokes the session, unless within `reuseLeeway` seconds.
   */
  rotation: boolean;
  reuseLeeway: number;
  /** Refreshes per client address; none when left out. */
  clientLimiter?: RateLimiter;
  metrics: Metrics;
  now: () => number;
}

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

function randomId(bytes = 16): string {
  return hex(crypto.getRandomValues(new Uint8Array(bytes)));
}

/**
 * The jti of the access token issued beside a rotated refresh token, derived from the refresh
 * token's: with the stored issue time, the pair can be signed again identically.
 */
async function pairedAccessJti(refreshJti: string): Promise<string> {
  const data = new TextEncoder().encode(`access:${refreshJti}`);
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", data)).slice(0, 16));
}

/** A rotated refresh token's row: what its pair is signed from. */
interface Successor {
  jti: string;
  issued_at: number;
  expires_at: number;
}

export function createTokens(deps: TokensDeps) {
  const { db, events, now } = deps;
  const key = new TextEncoder().encode(deps.secret);

  /**
   * A token issued at `atMs`, expiring at `expiresAtMs` (by default after its type's lifetime).
   * HS256 is deterministic: the same arguments give the same token.
   */
  function sign(
    type: TokenType,
    userId: number,
    sessionId: string,
    jti: string,
    atMs: number,
    expiresAtMs?: number,
  ) {
    const iat = Math.floor(atMs / 1000);
    const ttl = type === "access" ? deps.accessTtl : deps.refreshTtl;
    const exp = expiresAtMs === undefined ? iat + ttl : Math.floor(expiresAtMs / 1000);
    return new SignJWT({ token_type: type, user_id: userId, sid: sessionId })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setJti(jti)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(key);
  }

  /** Verifies signature, algorithm, expiry and type. Throws token_not_valid. */
  async function decode(token: string, type: TokenType): Promise<Claims> {
    const detail = type === "access" ? undefined : "refresh_invalid" as const;
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: ["HS256"],
        currentDate: new Date(now()),
        requiredClaims: ["exp", "iat", "jti"],
      }));
    } catch (err) {
      if (err instanceof joseErrors.JOSEError || err instanceof TypeError) {
        throw new AuthenticationError("token_not_valid", detail);
      }
      throw err;
    }
    const ok = payload.token_type === type && Number.isSafeInteger(payload.user_id) &&
      typeof payload.sid === "string" && typeof payload.jti === "string";
    if (!ok) throw new AuthenticationError("token_not_valid", detail);
    return payload as unknown as Claims;
  }

  /** Starts a login session for a user who has proven who they are. */
  async function issue(userId: number): Promise<TokenPair> {
    const at = now();
    const sessionId = randomId();
    const refreshJti = randomId();
    await db.transaction().execute(async (trx) => {
      await insertSession(trx, sessionId, userId, at);
      await insertRefreshToken(trx, {
        jti: refreshJti,
        sessionId,
        issuedAt: at,
        expiresAt: at + deps.refreshTtl * 1000,
      });
    });
    return {
      access: await sign("access", userId, sessionId, randomId(), at),
      refresh: await sign("refresh", userId, sessionId, refreshJti, at),
    };
  }

  /** The live user behind an access token. */
  async function authenticate(accessToken: string): Promise<Principal> {
    return (await verify(accessToken)).principal;
  }

  async function verify(accessToken: string): Promise<VerifiedToken> {
    const claims = await decode(accessToken, "access");
    const row = await findSessionUser(db, claims.sid, claims.user_id);
    if (!row) throw new AuthenticationError("token_not_valid");
    return {
      token: accessToken,
      principal: { user: toUser(row), sessionId: claims.sid },
      expiresAt: claims.exp * 1000,
    };
  }

  /**
   * authenticate() for a connection that presents its access token again with every frame
   * (lounge): the token it was last verified with stays good until it expires, without
   * another lookup, because revoking its session or deactivating its user closes the
   * connection itself (realtime/ws/endpoint.ts). Any other token is verified in full.
   */
  async function authenticateAgain(
    accessToken: string,
    last: VerifiedToken | undefined,
  ): Promise<VerifiedToken> {
    if (last && last.token === accessToken && now() < last.expiresAt) return last;
    return await verify(accessToken);
  }

  /**
   * A new access token for a refresh token. Without rotation, the refresh token stays valid
   * until it expires or its session ends; with it, see rotate(). `client` is the caller's
   * address, for the per-address limit (undefined for in-process callers).
   */
  async function refresh(refreshToken: string, client?: string): Promise<Refreshed> {
    if (deps.clientLimiter && client !== undefined) {
      await takeOrRefuse(
        deps.clientLimiter,
        client,
        () => deps.metrics.throttled.inc({ limit: "refresh" }),
      );
    }
    const claims = await decode(refreshToken, "refresh");
    if (deps.rotation) return await rotate(claims);
    const row = await findRefreshToken(db, claims.jti, claims.sid);
    // A token replaced while rotation was on stays replaced.
    if (row?.used_at) throw new AuthenticationError("token_not_valid", "refresh_reused");
    if (!row || !await findSessionUser(db, claims.sid, claims.user_id)) {
      throw new AuthenticationError("token_not_valid", "refresh_invalid");
    }
    return { access: await sign("access", claims.user_id, claims.sid, randomId(), now()) };
  }

  /**
   * Exchanges a refresh token for a new pair; the old one stops working. Presented again
   * within the reuse leeway (two tabs, a retried request), it gets the same pair once more;
   * later, it revokes the whole session, since only a thief or a replay would do that.
   */
  async function rotate(claims: Claims): Promise<TokenPair> {
    const at = now();
    const fresh: Successor = {
      jti: randomId(),
      issued_at: at,
      expires_at: at + deps.refreshTtl * 1000,
    };
    const outcome = await db.transaction().execute(async (trx) => {
      if (await markRefreshTokenUsed(trx, claims.jti, claims.sid, at, fresh.jti)) {
        if (!await findSessionUser(trx, claims.sid, claims.user_id)) return "revoked" as const;
        await insertRefreshToken(trx, {
          jti: fresh.jti,
          sessionId: claims.sid,
          issuedAt: fresh.issued_at,
          expiresAt: fresh.expires_at,
        });
        return fresh;
      }
      const successor = await recentSuccessor(trx, claims, at);
      if (successor) return successor;
      return await revokeSession(trx, claims.sid, at) ? "reused" as const : "stale" as const;
    });
    if (outcome === "reused") {
      events.publish(topic.user(claims.user_id), {
        type: "session.revoked",
        userId: claims.user_id,
        sessionId: claims.sid,
      });
      throw new AuthenticationError("token_not_valid", "refresh_reused");
    }
    if (outcome === "stale") throw new AuthenticationError("token_not_valid", "refresh_reused");
    if (outcome === "revoked") {
      throw new AuthenticationError("token_not_valid", "refresh_invalid");
    }
    const { jti, issued_at, expires_at } = outcome;
    const accessJti = await pairedAccessJti(jti);
    return {
      access: await sign("access", claims.user_id, claims.sid, accessJti, issued_at),
      refresh: await sign("refresh", claims.user_id, claims.sid, jti, issued_at, expires_at),
    };
  }

  /**
   * What replaced an already used refresh token, when that was within the leeway and its
   * session still lives.
   */
  async function recentSuccessor(db: Db, claims: Claims, at: number) {
    if (deps.reuseLeeway === 0) return undefined;
    const used = await findRefreshToken(db, claims.jti, claims.sid);
    if (!used?.replaced_by || used.used_at === null) return undefined;
    if (at - used.used_at > deps.reuseLeeway * 1000) return undefined;
    if (!await findSessionUser(db, claims.sid, claims.user_id)) return undefined;
    return await findRefreshToken(db, used.replaced_by, claims.sid);
  }

  /** Ends a session; its access and refresh tokens stop working. */
  async function endSession(userId: number, sessionId: string): Promise<void> {
    if (await revokeSession(db, sessionId, now())) {
      events.publish(topic.user(userId), { type: "session.revoked", userId, sessionId });
    }
  }

  /** Logout with a refresh token (SimpleJWT's blacklist endpoint) . */
  async function logoutWithRefresh(refreshToken: string): Promise<void> {
    const claims = await decode(refreshToken, "refresh");
    await endSession(claims.user_id, claims.sid);
  }

  /** Ends every session of a user (password change, deactivation), but `except` if given. */
  async function endAllSessions(userId: number, except?: string): Promise<void> {
    for (const sessionId of await revokeUserSessions(db, userId, now(), except)) {
      events.publish(topic.user(userId), { type: "session.revoked", userId, sessionId });
    }
  }

  return {
    issue,
    authenticate,
    authenticateAgain,
    refresh,
    endSession,
    logoutWithRefresh,
    endAllSessions,
  };
}

export type Tokens = ReturnType<typeof createTokens>;
