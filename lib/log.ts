// One JSON object per line on stdout (errors on stderr). Callers pass fields, never secrets:
// no tokens, passwords or cookies go into a log line.
import type { LogLevel } from "./config.ts";

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

function describeError(err: unknown): unknown {
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack };
  return String(err);
}

export function createLogger(level: LogLevel): Logger {
  const min = RANK[level];
  function write(at: Exclude<LogLevel, "silent">, msg: string, fields?: LogFields) {
    if (RANK[at] < min) return;
    const entry: LogFields = { time: new Date().toISOString(), level: at, msg, ...fields };
    if ("error" in entry) entry.error = describeError(entry.error);
    const line = JSON.stringify(entry);
    if (at === "error" || at === "warn") console.error(line);
    else console.log(line);
  }
  return {
    debug: (msg, fields) => write("debug", msg, fields),
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
  };
}
