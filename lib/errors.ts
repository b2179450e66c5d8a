// Typed errors raised by the core. Each face maps them onto its own wire shape
// (HTTP status + DRF body, Socket.IO ack/error event, WebSocket close code).

export type FieldErrors = Record<string, string[]>;

export abstract class ChatError extends Error {
  /** A stable machine-readable code, e.g. "not_found", "token_not_valid". */
  abstract readonly code: string;
}

/** Bad input: one or more fields with messages, in the DRF `{"field": ["message"]}` shape. */
export class ValidationError extends ChatError {
  readonly code = "invalid";
  constructor(readonly fields: FieldErrors) {
    super(Object.entries(fields).map(([f, m]) => `${f}: ${m.join(" ")}`).join("; "));
    this.name = "ValidationError";
  }
  static field(field: string, message: string): ValidationError {
    return new ValidationError({ [field]: [message] });
  }
}

export type AuthFailure = "not_authenticated" | "authentication_failed" | "token_not_valid";

const AUTH_DETAIL: Record<AuthFailure, string> = {
  not_authenticated: "Authentication credentials were not provided.",
  authentication_failed: "No active account found with the given credentials",
  token_not_valid: "Given token not valid for any token type",
};

/** Missing or wrong credentials (HTTP 401). */
export class AuthenticationError extends ChatError {
  constructor(readonly code: AuthFailure, detail?: string) {
    super(detail ?? AUTH_DETAIL[code]);
    this.name = "AuthenticationError";
  }
}

/** Authenticated, but not allowed to do this (HTTP 403). */
export class PermissionDenied extends ChatError {
  readonly code = "permission_denied";
  constructor(detail = "You do not have permission to perform this action.") {
    super(detail);
    this.name = "PermissionDenied";
  }
}

/** No such thing, or not one the caller may know about (HTTP 404). */
export class NotFound extends ChatError {
  readonly code = "not_found";
  constructor(detail = "Not found.") {
    super(detail);
    this.name = "NotFound";
  }
}

/** The thing exists but is in a state that forbids the action (HTTP 409). */
export class Conflict extends ChatError {
  readonly code = "conflict";
  constructor(detail: string) {
    super(detail);
    this.name = "Conflict";
  }
}

/** Too many attempts; `retryAfter` is in seconds (HTTP 429). */
export class RateLimited extends ChatError {
  readonly code = "throttled";
  constructor(readonly retryAfter: number) {
    super(`Request was throttled. Expected available in ${retryAfter} seconds.`);
    this.name = "RateLimited";
  }
}
