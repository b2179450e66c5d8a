// Typed errors raised by the core: a code and the facts, never a face's words. Each face words
// them in its own shape (HTTP status + body, Socket.IO ack or error event, WebSocket frame or
// close code); routes/wording.ts holds the Django REST Framework texts today's faces share.

/** One thing wrong with one field: a code and the facts a face needs to word it. */
export type Problem =
  | { code: "required" }
  | { code: "blank" }
  | { code: "max_length"; max: number }
  | { code: "length_between"; min: number; max: number }
  | { code: "min_value"; min: number }
  | { code: "not_integer" }
  | { code: "invalid_email" }
  | { code: "invalid_username" }
  | { code: "username_reserved" }
  | { code: "username_taken" }
  | { code: "email_taken" }
  | { code: "no_free_username" }
  | { code: "password_too_short"; min: number }
  | { code: "password_too_common" }
  | { code: "password_entirely_numeric" }
  | { code: "password_too_similar" }
  | { code: "password_mismatch" }
  | { code: "self_chat" }
  /** An attachment key that is unknown, or someone else's upload. */
  | { code: "invalid_upload" }
  /** A file of zero bytes. */
  | { code: "empty_file" }
  /** Already worded by a face (its own schema check at the edge). */
  | { code: "worded"; text: string };

/** Problems by field. The core names fields in camelCase; faces choose the wire keys. */
export type Problems = Record<string, Problem[]>;

export abstract class ChatError extends Error {
  /** A stable machine-readable code, e.g. "not_found", "token_not_valid". */
  abstract readonly code: string;
}

/** Bad input: one or more fields, each with its problems. */
export class ValidationError extends ChatError {
  readonly code = "invalid";
  constructor(readonly problems: Problems) {
    super(
      Object.entries(problems).map(([f, ps]) => `${f}: ${ps.map((p) => p.code).join(", ")}`)
        .join("; "),
    );
    this.name = "ValidationError";
  }

  static of(field: string, problem: Problem): ValidationError {
    return new ValidationError({ [field]: [problem] });
  }

  /** The same problems under the names a face gives those fields (`{text: "message"}`). */
  renamed(names: Record<string, string>): ValidationError {
    const problems: Problems = {};
    for (const [field, list] of Object.entries(this.problems)) {
      (problems[names[field] ?? field] ??= []).push(...list);
    }
    return new ValidationError(problems);
  }

  /** Throws when `problems` holds any; a no-op otherwise. */
  static check(problems: Problems): void {
    if (Object.keys(problems).length > 0) throw new ValidationError(problems);
  }
}

/** Collects problems field by field, for ValidationError.check() to throw all at once. */
export function problemList(): { add(field: string, problem: Problem): void; problems: Problems } {
  const problems: Problems = {};
  return { problems, add: (field, problem) => void (problems[field] ??= []).push(problem) };
}

export type AuthFailure = "not_authenticated" | "authentication_failed" | "token_not_valid";
/** Why a refresh token was refused (token_not_valid only). */
export type RefreshRefusal = "refresh_invalid" | "refresh_reused";

/** Missing or wrong credentials (HTTP 401). */
export class AuthenticationError extends ChatError {
  constructor(readonly code: AuthFailure, readonly reason?: RefreshRefusal) {
    super(reason ? `${code} (${reason})` : code);
    this.name = "AuthenticationError";
  }
}

/** Why an authenticated caller may not do something. */
export type Forbidden =
  | "forbidden"
  | "students_only"
  | "teachers_only"
  | "not_room_teacher"
  | "not_room_student"
  | "not_creator_update"
  | "not_creator_delete"
  | "direct_two_members"
  | "not_owner"
  | "not_author";

/** Authenticated, but not allowed to do this (HTTP 403). */
export class PermissionDenied extends ChatError {
  readonly code = "permission_denied";
  constructor(readonly reason: Forbidden = "forbidden") {
    super(reason);
    this.name = "PermissionDenied";
  }
}

/** No such thing, or not one the caller may know about (HTTP 404). */
export class NotFound extends ChatError {
  readonly code = "not_found";
  constructor(readonly what: "thing" | "user" | "signup" = "thing") {
    super(`no such ${what}`);
    this.name = "NotFound";
  }
}

/** Why the thing's state forbids the action. */
export type ConflictReason =
  | "room_closed"
  | "room_taken"
  | "client_id_reused"
  | "room_suspended";

/** The thing exists but is in a state that forbids the action (HTTP 409). */
export class Conflict extends ChatError {
  readonly code = "conflict";
  constructor(readonly reason: ConflictReason) {
    super(reason);
    this.name = "Conflict";
  }
}

/** A body (an uploaded file) longer than the limit, in bytes (HTTP 413). */
export class TooLarge extends ChatError {
  readonly code = "too_large";
  constructor(readonly limit: number) {
    super(`larger than ${limit} bytes`);
    this.name = "TooLarge";
  }
}

/** Too many attempts; `retryAfter` is in seconds (HTTP 429). */
export class RateLimited extends ChatError {
  readonly code = "throttled";
  constructor(readonly retryAfter: number) {
    super(`throttled for ${retryAfter} s`);
    this.name = "RateLimited";
  }
}

/** The service is too busy to take this now; `retryAfter` is in seconds (HTTP 503). */
export class Overloaded extends ChatError {
  readonly code = "overloaded";
  constructor(readonly retryAfter: number) {
    super(`overloaded; retry in ${retryAfter} s`);
    this.name = "Overloaded";
  }
}

/** What an unavailable outside service was for. */
export type Service = "mail" | "database";

/**
 * An outside service the request needs (the mail server) failed; nothing was kept, and the
 * same request may be retried after `retryAfter` seconds (HTTP 503).
 */
export class Unavailable extends ChatError {
  readonly code = "unavailable";
  constructor(readonly service: Service, readonly retryAfter: number) {
    super(`${service} unavailable; retry in ${retryAfter} s`);
    this.name = "Unavailable";
  }
}

/**
 * What the database layer throws when the database cannot be reached or does not answer in
 * time (DatabaseOptions.unavailable): a 503 with Retry-After, never a driver's message.
 */
export function databaseUnavailable(): Unavailable {
  return new Unavailable("database", 2);
}
