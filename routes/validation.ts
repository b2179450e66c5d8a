// Input validation for every face: zod schemas through @hono/zod-validator, failures raised as
// the core's ValidationError (problems already worded, with Django REST Framework's words) so
// that the one error handler renders them in the DRF `{"field": ["message"]}` shape.
import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
import { z } from "zod";
import { type Problems, ValidationError } from "@/lib/errors.ts";
import { uniqueSymbol } from "hono-openapi";
import { validatorSpec } from "./openapi.ts";

type Issue = z.core.$ZodIssue;

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return "list";
  if (value === null) return "null";
  return typeof value === "object" ? "dict" : typeof value === "string" ? "str" : typeof value;
}

/**
 * A client's value as text. String() would call the value's own toString/valueOf, and a JSON
 * object may carry those keys as plain data ({"toString": 1}), which makes String() throw.
 */
function shown(value: unknown): string {
  if (typeof value !== "object" || value === null) return String(value);
  try {
    return JSON.stringify(value) ?? kindOf(value);
  } catch {
    return kindOf(value);
  }
}

/** The DRF message for one zod issue. `input` is the offending value. */
function drfMessage(issue: Issue, input: unknown): string {
  switch (issue.code) {
    case "invalid_type":
      if (input === undefined) return "This field is required.";
      if (input === null) return "This field may not be null.";
      if (issue.expected === "object" && (issue.path ?? []).length === 0) {
        return `Invalid data. Expected a dictionary, but got ${kindOf(input)}.`;
      }
      if (issue.expected === "number" || issue.expected === "int") {
        return "A valid integer is required.";
      }
      if (issue.expected === "boolean") return "Must be a valid boolean.";
      if (issue.expected === "string") return "Not a valid string.";
      if (issue.expected === "array") {
        return `Expected a list of items but got type "${kindOf(input)}".`;
      }
      return `Expected ${issue.expected}.`;
    case "too_small":
      if (issue.origin === "string") {
        return Number(issue.minimum) <= 1
          ? "This field may not be blank."
          : `Ensure this field has at least ${issue.minimum} characters.`;
      }
      return `Ensure this value is greater than or equal to ${issue.minimum}.`;
    case "too_big":
      if (issue.origin === "string") {
        return `Ensure this field has no more than ${issue.maximum} characters.`;
      }
      return `Ensure this value is less than or equal to ${issue.maximum}.`;
    case "invalid_format":
      return issue.format === "email" ? "Enter a valid email address." : "Enter a valid value.";
    case "invalid_value":
      return `"${shown(input)}" is not a valid choice.`;
    default:
      return issue.message;
  }
}

// Zod hands the raw input to error maps (it is not kept on the issue), so the wording is
// chosen here, once, for every schema in the service.
z.config({
  customError: (issue) => drfMessage(issue as unknown as Issue, issue.input),
});

/** Groups zod issues by top-level field; a whole-body problem goes under non_field_errors. */
function schemaProblems(issues: readonly Issue[]): Problems {
  const problems: Problems = {};
  for (const issue of issues) {
    const key = issue.path.length > 0 ? String(issue.path[0]) : "non_field_errors";
    (problems[key] ??= []).push({ code: "worded", text: issue.message });
  }
  return problems;
}

/** The ValidationError for a failed schema check. */
export function schemaError(issues: readonly Issue[]): ValidationError {
  return new ValidationError(schemaProblems(issues));
}

/**
 * zValidator whose failures become a ValidationError (400 in the DRF shape). The schema is also
 * what the OpenAPI document shows for the request (hono-openapi reads the marker).
 */
export function validate<T extends z.ZodType, Target extends keyof ValidationTargets>(
  target: Target,
  schema: T,
) {
  const middleware = zValidator(target, schema, (result) => {
    if (!result.success) throw schemaError(result.error.issues);
  });
  return Object.assign(middleware, { [uniqueSymbol]: validatorSpec(target, schema) });
}

/** A query-string integer id (`?before=12`). */
export const queryInt = z.string().regex(/^\d+$/, "A valid integer is required.").transform(Number);

/** DRF's DateTimeField error, for a time it cannot read. */
const TIME_FORMAT_ERROR =
  "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].";

const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/**
 * An ISO 8601 date and time (`2024-01-01T10:00:00.123Z`, an offset, or none for UTC, as the
 * original Django backends read it) → ms since the epoch, fractional below a millisecond.
 */
export function parseIsoTime(raw: string): number | undefined {
  const m = ISO_TIME.exec(raw.trim());
  if (!m) return undefined;
  const [year, month, day, hour = 0, minute = 0, second = 0] = m.slice(1, 7).map((p) =>
    p === undefined ? undefined : Number(p)
  ) as number[];
  const date = new Date(0); // setUTCFullYear: Date.UTC would read years below 100 as 19xx
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second);
  if (
    date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59
  ) return undefined;
  const fraction = m[7] ? Number(`0.${m[7]}`) * 1000 : 0;
  const zone = m[8]?.toUpperCase();
  let offset = 0;
  if (zone && zone !== "Z") {
    const sign = zone[0] === "-" ? -1 : 1;
    const [hours, minutes = "0"] = zone.slice(1).replace(":", "").match(/\d{2}/g)!;
    if (Number(hours) > 23 || Number(minutes) > 59) return undefined;
    offset = sign * (Number(hours) * 60 + Number(minutes)) * 60_000;
  }
  return date.getTime() + fraction - offset;
}

/** A query-string time (`?before=2024-01-01T00:00:00Z`) → ms since the epoch. */
export const queryTime = z.string().transform((raw, ctx) => {
  const ms = parseIsoTime(raw);
  if (ms === undefined) {
    ctx.addIssue({ code: "custom", message: TIME_FORMAT_ERROR });
    return z.NEVER;
  }
  return ms;
});
