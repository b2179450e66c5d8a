// Database failures the layers above must tell apart, whatever the engine: "the database is
// not there" (a 503, never a 500 with a driver's message), a unique index refusing a row, and
// the conflicts after which a transaction is simply run again.

/** The database cannot be reached or did not answer in time (the default unavailable error). */
export class DatabaseUnavailable extends Error {
  constructor(cause: unknown) {
    super("the database is unavailable", { cause });
    this.name = "DatabaseUnavailable";
  }
}

/** Makes the error the caller wants for an unreachable database (see DatabaseOptions). */
export type UnavailableFactory = (cause: unknown) => Error;

const unavailableErrors = new WeakSet<object>();

/** Wraps `cause` with `factory` and remembers the result as an unavailable-database error. */
export function unavailable(cause: unknown, factory?: UnavailableFactory): Error {
  const err = factory ? factory(cause) : new DatabaseUnavailable(cause);
  unavailableErrors.add(err);
  return err;
}

/** True for errors made by unavailable(): never a refusal of one item, always the database. */
export function isDatabaseUnavailable(err: unknown): boolean {
  return typeof err === "object" && err !== null && unavailableErrors.has(err);
}

interface PgError {
  code?: string;
  table?: string;
  detail?: string;
}

const pgCode = (err: unknown) => (err as PgError | null)?.code;

/**
 * True when a unique index refused a row; with `target` ("table.column"), only when that
 * column is part of the refusing index. SQLite says so in its message, PostgreSQL in fields.
 */
export function isUniqueViolation(err: unknown, target?: string): boolean {
  if (pgCode(err) === "23505") {
    if (target === undefined) return true;
    const [table, column] = target.split(".");
    const { table: failed, detail } = err as PgError;
    const columns = /^Key \(([^)]*)\)/.exec(detail ?? "")?.[1].split(/,\s*/) ?? [];
    return failed === table && (column === undefined || columns.includes(column));
  }
  const message = String(err);
  return /UNIQUE constraint failed/i.test(message) &&
    (target === undefined || message.includes(target));
}

/**
 * PostgreSQL's "run it again" outcomes: serialization failure, deadlock, and a unique index
 * that another transaction filled in the meantime (the retry then reads what it wrote).
 */
export function isRetryable(err: unknown): boolean {
  const code = pgCode(err);
  return code === "40001" || code === "40P01" || code === "23505";
}

// Node's socket errors and PostgreSQL's connection, shutdown, overload and timeout classes.
const NODE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
]);
const PG_CODES = new Set(["57P01", "57P02", "57P03", "53300", "57014", "3D000"]);

/** True when a PostgreSQL client error means the server is unreachable, going away or slow. */
export function isConnectionFailure(err: unknown): boolean {
  const code = pgCode(err);
  if (code && (NODE_CODES.has(code) || PG_CODES.has(code) || code.startsWith("08"))) {
    return true;
  }
  const message = err instanceof Error ? err.message : String(err);
  return /Connection terminated|timeout exceeded when trying to connect|not queryable|Connection refused|connect ECONNREFUSED/i
    .test(message);
}
