// Where the lounge face reads a request's fields: the spec writes every request with a `data`
// object, GETs included. Browsers send no body with GET, so fields come from the query string
// and, when a client does send one, from a JSON body too (the body wins on a clash).
import type { Context } from "hono";
import { z } from "zod";
import { ValidationError } from "@/lib/errors.ts";
import { queryTime, schemaError } from "@/routes/validation.ts";

/** DRF's words for a body that is not JSON. */
const PARSE_ERROR = "JSON parse error - Expecting value.";

/** The request's fields (query, then JSON body), checked by `schema`; 400 field errors else. */
export async function readFields<T extends z.ZodType>(
  c: Context,
  schema: T,
): Promise<z.output<T>> {
  const fields: Record<string, unknown> = { ...c.req.query() };
  const text = await c.req.text();
  if (text.trim().length > 0) {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw ValidationError.of("non_field_errors", { code: "worded", text: PARSE_ERROR });
    }
    if (body !== null && typeof body === "object" && !Array.isArray(body)) {
      Object.assign(fields, body);
    } else {
      throw ValidationError.of("non_field_errors", {
        code: "worded",
        text: "Invalid data. Expected a dictionary.",
      });
    }
  }
  const checked = schema.safeParse(fields);
  if (!checked.success) throw schemaError(checked.error.issues);
  return checked.data;
}

/** A flag from JSON (true) or a query string (`true`, `True`, `1`, ...). */
export const flag = z.union([
  z.boolean(),
  z.enum(["true", "false", "True", "False", "1", "0"]).transform((v) =>
    v === "true" || v === "True" || v === "1"
  ),
]);

/** An id from JSON (12) or a query string ("12"). */
export const idField = z.union([
  z.number().int().positive(),
  z.string().regex(/^\d+$/, "A valid integer is required.").transform(Number),
]);

/** The paging fields of bot chat, rooms and groups: `timestamp` (ISO 8601) and `before`. */
export const pageFields = z.object({
  timestamp: queryTime.optional(),
  before: flag.optional(),
});
