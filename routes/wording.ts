// The words today's faces give the core's errors and people: Django REST Framework's and
// SimpleJWT's texts, which desk and meet clients were written against. The core raises codes
// and facts (lib/errors.ts); a face that words things differently keeps its own table.
import {
  AuthenticationError,
  type ChatError,
  Conflict,
  type ConflictReason,
  type Forbidden,
  NotFound,
  Overloaded,
  PermissionDenied,
  type Problem,
  RateLimited,
  type Service,
  TooLarge,
  Unavailable,
  ValidationError,
} from "@/lib/errors.ts";
import type { User } from "@/lib/records.ts";

export type FieldErrors = Record<string, string[]>;

/** "1 second", "5 seconds". */
export const seconds = (n: number) => `${n} second${n === 1 ? "" : "s"}`;

/** What a realtime client that sends too fast is told (Socket.IO refusal, error frame). */
export const tooFast = (retryAfter: number) =>
  `Too many messages. Try again in ${seconds(retryAfter)}.`;

/** How a person is named: first and last name, or a neutral name once deleted (anonymised). */
export function displayName(user: User): string {
  if (!user.isActive && user.username.startsWith("deleted-")) return "Deleted user";
  return [user.firstName, user.lastName].filter((part) => part.length > 0).join(" ") ||
    user.username;
}

/** The DRF text of one field problem. */
export function problemText(problem: Problem): string {
  switch (problem.code) {
    case "required":
      return "This field is required.";
    case "blank":
      return "This field may not be blank.";
    case "max_length":
      return `Ensure this field has no more than ${problem.max} characters.`;
    case "length_between":
      return `Ensure this field has ${problem.min} to ${problem.max} characters.`;
    case "min_value":
      return `Ensure this value is greater than or equal to ${problem.min}.`;
    case "not_integer":
      return "A valid integer is required.";
    case "invalid_email":
      return "Enter a valid email address.";
    case "invalid_username":
      return "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.";
    case "username_reserved":
      return "This username is reserved.";
    case "username_taken":
      return "A user with that username already exists.";
    case "email_taken":
      return "A user with this email already exists.";
    case "no_free_username":
      return "Could not derive a free username from this email.";
    case "password_too_short":
      return `This password is too short. It must contain at least ${problem.min} characters.`;
    case "password_too_common":
      return "This password is too common.";
    case "password_entirely_numeric":
      return "This password is entirely numeric.";
    case "password_too_similar":
      return "The password is too similar to your personal information.";
    case "password_mismatch":
      return "The two password fields didn't match.";
    case "self_chat":
      return "You cannot open a chat with yourself.";
    case "invalid_upload":
      return "No such upload. Upload the file first and send its file_identifier.";
    case "empty_file":
      return "The submitted file is empty.";
    case "worded":
      return problem.text;
  }
}

/** The core names fields in camelCase; DRF clients read snake_case keys. */
function wireKey(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** A ValidationError in DRF's `{"field": ["message"]}` shape. */
export function fieldErrors(err: ValidationError): FieldErrors {
  const out: FieldErrors = {};
  for (const [field, problems] of Object.entries(err.problems)) {
    (out[wireKey(field)] ??= []).push(...problems.map(problemText));
  }
  return out;
}

const AUTH_DETAIL = {
  not_authenticated: "Authentication credentials were not provided.",
  authentication_failed: "No active account found with the given credentials",
  token_not_valid: "Given token not valid for any token type",
  refresh_invalid: "Token is invalid or expired",
  refresh_reused: "Token is blacklisted",
} as const;

const FORBIDDEN: Record<Forbidden, string> = {
  forbidden: "You do not have permission to perform this action.",
  students_only: "Only students can open a room.",
  teachers_only: "Only teachers can join rooms.",
  not_room_teacher: "Only the room's teacher can close it.",
  not_room_student: "Only the room's student can announce it.",
  not_creator_update: "You can only update rooms you created.",
  not_creator_delete: "You can only delete rooms you created.",
  direct_two_members: "A direct room has exactly two members.",
  not_owner: "Only the room's owner can open it.",
  not_author: "You can only send messages as yourself.",
};

const CONFLICT: Record<ConflictReason, string> = {
  room_closed: "This room is closed.",
  room_taken: "Another teacher has already joined this room.",
  client_id_reused: "This client_id was already used for a message in another room.",
  room_suspended: "This room is suspended. Open it again to send messages.",
};

const NOT_FOUND: Record<NotFound["what"], string> = {
  thing: "Not found.",
  user: "No such user.",
  signup: "Invalid or expired registration link.",
};

const UNAVAILABLE: Record<Service, string> = {
  mail: "The confirmation e-mail could not be sent.",
  database: "The database is not answering.",
};

/** The one-line `detail` of any core error, in DRF's words. */
export function detailOf(err: ChatError): string {
  if (err instanceof ValidationError) {
    return Object.entries(fieldErrors(err)).map(([f, m]) => `${f}: ${m.join(" ")}`).join("; ");
  }
  if (err instanceof AuthenticationError) return AUTH_DETAIL[err.reason ?? err.code];
  if (err instanceof PermissionDenied) return FORBIDDEN[err.reason];
  if (err instanceof NotFound) return NOT_FOUND[err.what];
  if (err instanceof Conflict) return CONFLICT[err.reason];
  if (err instanceof TooLarge) {
    return `The file is too large. The limit is ${err.limit} bytes.`;
  }
  if (err instanceof RateLimited) {
    return `Request was throttled. Expected available in ${seconds(err.retryAfter)}.`;
  }
  if (err instanceof Overloaded) {
    return `The server is busy. Try again in ${seconds(err.retryAfter)}.`;
  }
  if (err instanceof Unavailable) {
    return `${UNAVAILABLE[err.service]} Try again in ${seconds(err.retryAfter)}.`;
  }
  return "A server error occurred.";
}

/** Seconds a client should wait before trying again, for refusals that have one. */
export function retryAfterOf(err: unknown): number | undefined {
  const waits = err instanceof RateLimited || err instanceof Overloaded ||
    err instanceof Unavailable;
  return waits ? err.retryAfter : undefined;
}
