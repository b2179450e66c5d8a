// Password hashes in Django's format, `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`,
// so that accounts exported from the original Django backends log in unchanged.
import { COMMON_PASSWORDS } from "./common_passwords.ts";
import type { Problem } from "./errors.ts";

const ALGORITHM = "pbkdf2_sha256";
const SALT_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const encoder = new TextEncoder();

/** Django's "unusable password" marker prefix: such a hash never verifies. */
export const UNUSABLE_PASSWORD = "!";

function randomSalt(length = 22): string {
  // Rejection sampling keeps every character equally likely.
  const out: string[] = [];
  while (out.length < length) {
    for (const b of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (b < 248 && out.length < length) out.push(SALT_CHARS[b % SALT_CHARS.length]);
    }
  }
  return out.join("");
}

async function derive(password: string, salt: string, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: encoder.encode(salt), iterations },
    key,
    256,
  );
  return new Uint8Array(bits);
}

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function fromBase64(text: string): Uint8Array | undefined {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/** Compares two byte strings in time that depends only on their length. */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

export async function hashPassword(password: string, iterations: number): Promise<string> {
  const salt = randomSalt();
  return `${ALGORITHM}$${iterations}$${salt}$${toBase64(await derive(password, salt, iterations))}`;
}

interface ParsedHash {
  iterations: number;
  salt: string;
  hash: Uint8Array;
}

function parseHash(encoded: string): ParsedHash | undefined {
  const parts = encoded.split("$");
  if (parts.length !== 4 || parts[0] !== ALGORITHM) return undefined;
  const iterations = Number(parts[1]);
  const hash = fromBase64(parts[3]);
  if (!Number.isSafeInteger(iterations) || iterations < 1 || !hash || parts[2].includes("$")) {
    return undefined;
  }
  return { iterations, salt: parts[2], hash };
}

/** True when `password` matches `encoded`. Unknown formats and unusable hashes never match. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parseHash(encoded);
  if (!parsed) return false;
  return timingSafeEqual(await derive(password, parsed.salt, parsed.iterations), parsed.hash);
}

/** True when a stored hash was made with fewer iterations than configured now. */
export function needsRehash(encoded: string, iterations: number): boolean {
  const parsed = parseHash(encoded);
  return parsed !== undefined && parsed.iterations !== iterations;
}

/**
 * Hashes made once per process and iteration count (one in practice: the configured one) to
 * spend the same time on unknown users as on known ones.
 */
const dummyHashes = new Map<number, Promise<string>>();
export function dummyVerify(password: string, iterations: number): Promise<boolean> {
  let dummy = dummyHashes.get(iterations);
  if (!dummy) dummyHashes.set(iterations, dummy = hashPassword(randomSalt(), iterations));
  return dummy.then((h) => verifyPassword(password, h)).then(() => false);
}

export interface PasswordPolicy {
  minLength: number;
  /** Values the password must not resemble (username, e-mail, names). */
  personal?: (string | null | undefined)[];
}

/** Django's default validators, as problem codes. Empty list = acceptable. */
export function passwordProblems(password: string, policy: PasswordPolicy): Problem[] {
  const problems: Problem[] = [];
  if (password.length < policy.minLength) {
    problems.push({ code: "password_too_short", min: policy.minLength });
  }
  const lowered = password.toLowerCase().trim();
  if (COMMON_PASSWORDS.has(lowered)) problems.push({ code: "password_too_common" });
  if (/^\d+$/.test(password)) problems.push({ code: "password_entirely_numeric" });
  for (const value of policy.personal ?? []) {
    if (!value || value.length < 3) continue;
    const v = value.toLowerCase();
    const local = v.split("@")[0];
    if (lowered === v || lowered === local || (local.length >= 4 && lowered.includes(local))) {
      problems.push({ code: "password_too_similar" });
      break;
    }
  }
  return problems;
}
