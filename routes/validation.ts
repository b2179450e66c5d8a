// Input validation for every face: zod schemas through @hono/zod-validator, failures raised as
// the core's ValidationError (problems already worded, with Django REST Framework's words) so
// that the one error handler renders them in the DRF `{"field": ["message"]}` shape.
import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
import { z } from "zod";
import { type Problems, ValidationError } from "@/lib/errors.ts";

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
export function schemaProblems(issues: readonly Issue[]): Problems {
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

/** zValidator whose failures become a ValidationError (400 in the DRF shape). */
export function validate<T extends z.ZodType, Target extends keyof ValidationTargets>(
  target: Target,
  schema: T,
) {
  return zValidator(target, schema, (result) => {
    if (!result.success) throw schemaError(result.error.issues);
  });
}

/** A query-string integer id (`?before=12`). */
export const queryInt = z.string().regex(/^\d+$/, "A valid integer is required.").transform(Number);
