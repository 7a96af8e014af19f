// Flag parsing shared by every command, on node:util's parseArgs.
import { type ParseArgsConfig, parseArgs } from "node:util";

export class UsageError extends Error {
  override name = "UsageError";
}

/** Flags every command that touches the database accepts (they override the environment). */
export const DATABASE_FLAGS = {
  "data-dir": { type: "string" },
  "database-url": { type: "string" },
  "log-level": { type: "string" },
} as const;

export const DATABASE_FLAGS_HELP = `  --data-dir DIR         data directory (POSTHORN_DATA_DIR, default ./data)
  --database-url URL     postgres://… (DATABASE_URL; unset: SQLite in the data directory)`;

export function parseFlags<O extends NonNullable<ParseArgsConfig["options"]>>(argv: string[], options: O) {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, help: { type: "boolean", short: "h" }, json: { type: "boolean" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function requireFlag(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== "string" || v === "") throw new UsageError(`--${name} is required.`);
  return v;
}
