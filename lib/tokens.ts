// Access and refresh tokens: HS256 JWTs with Django SimpleJWT's claims (token_type, user_id,
// jti, iat, exp) plus `sid`, the login session they belong to. Every verification checks the
// session is live and the user active, so logout and deactivation take effect at once.
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import type { Db } from "@/db/client.ts";
import {
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

export type TokenType = "access" | "refresh";

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
  /** Refreshes per client address; none when left out. */
  clientLimiter?: RateLimiter;
  metrics: Metrics;
  now: () => number;
}

function randomId(bytes = 16): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

export function createTokens(deps: TokensDeps) {
  const { db, events, now } = deps;
  const key = new TextEncoder().encode(deps.secret);

  function sign(type: TokenType, userId: number, sessionId: string, jti: string, atMs: number) {
    const iat = Math.floor(atMs / 1000);
    const ttl = type === "access" ? deps.accessTtl : deps.refreshTtl;
    return new SignJWT({ token_type: type, user_id: userId, sid: sessionId })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setJti(jti)
      .setIssuedAt(iat)
      .setExpirationTime(iat + ttl)
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
    const claims = await decode(accessToken, "access");
    const row = await findSessionUser(db, claims.sid, claims.user_id);
    if (!row) throw new AuthenticationError("token_not_valid");
    return { user: toUser(row), sessionId: claims.sid };
  }

  /**
   * Exchanges a refresh token for a new pair. The old one stops working; presenting it again
   * revokes the whole session, since only a thief or a replay would do that. `client` is the
   * caller's address, for the per-address limit (undefined for in-process callers).
   */
  async function refresh(refreshToken: string, client?: string): Promise<TokenPair> {
    if (deps.clientLimiter && client !== undefined) {
      await takeOrRefuse(
        deps.clientLimiter,
        client,
        () => deps.metrics.throttled.inc({ limit: "refresh" }),
      );
    }
    const claims = await decode(refreshToken, "refresh");
    const at = now();
    const jti = randomId();
    const outcome = await db.transaction().execute(async (trx) => {
      if (!await markRefreshTokenUsed(trx, claims.jti, claims.sid, at)) {
        return await revokeSession(trx, claims.sid, at) ? "reused" as const : "stale" as const;
      }
      if (!await findSessionUser(trx, claims.sid, claims.user_id)) return "revoked" as const;
      await insertRefreshToken(trx, {
        jti,
        sessionId: claims.sid,
        issuedAt: at,
        expiresAt: at + deps.refreshTtl * 1000,
      });
      return "rotated" as const;
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
    return {
      access: await sign("access", claims.user_id, claims.sid, randomId(), at),
      refresh: await sign("refresh", claims.user_id, claims.sid, jti, at),
    };
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

  /** Ends every session of a user (password change, deactivation). */
  async function endAllSessions(userId: number): Promise<void> {
    for (const sessionId of await revokeUserSessions(db, userId, now())) {
      events.publish(topic.user(userId), { type: "session.revoked", userId, sessionId });
    }
  }

  return { issue, authenticate, refresh, endSession, logoutWithRefresh, endAllSessions };
}

export type Tokens = ReturnType<typeof createTokens>;
