// One JSON object per line. Fields named like secrets are replaced, as a second line of
// defence: callers never pass secrets on purpose.
import type { LogLevel } from "./config";

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_FIELD = /pass(word)?|secret|token|authorization|api_?key|private_?key|^key$/i;

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export type LogSink = (line: string) => void;

const stdoutSink: LogSink = (line) => process.stdout.write(`${line}\n`);

export function createLogger(level: LogLevel, sink: LogSink = stdoutSink, base: LogFields = {}): Logger {
  const min = LEVELS[level];
  const write = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (LEVELS[lvl] < min) return;
    sink(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...redact(base), ...redact(fields) }));
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (fields) => createLogger(level, sink, { ...base, ...fields }),
  };
}

function redact(fields: LogFields | undefined): LogFields | undefined {
  if (!fields) return fields;
  let out: LogFields | undefined;
  for (const k in fields) {
    if (SECRET_FIELD.test(k) && k !== "key_id" && k !== "api_key_id") {
      out ??= { ...fields };
      out[k] = "[redacted]";
    } else if (fields[k] instanceof Error) {
      out ??= { ...fields };
      const e = fields[k] as Error;
      out[k] = { name: e.name, message: e.message };
    }
  }
  return out ?? fields;
}

/** A logger that drops everything (tests, CLI commands). */
export const silentLogger: Logger = createLogger("error", () => {});
