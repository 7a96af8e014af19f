// Runs the CLI as a user would (`bun src/main.ts …`) in a child process, with only the
// environment given (plus PATH/HOME), so a test's settings never leak in from the shell.
import { resolve } from "node:path";

export const REPO_ROOT = resolve(import.meta.dir, "../..");
const ENTRY = resolve(REPO_ROOT, "src/main.ts");

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

function childEnv(env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...env };
}

/**
 * Starts `posthorn <args>` without waiting (for concurrency tests and long-running commands):
 * `bun src/main.ts`, or the compiled executable at `binary`.
 */
export function spawnCli(args: string[], env: Record<string, string> = {}, binary?: string) {
  return Bun.spawn([...(binary ? [binary] : [process.execPath, ENTRY]), ...args], {
    cwd: REPO_ROOT,
    env: childEnv(env),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
}

/** Runs `posthorn <args>` to completion. */
export async function runCli(args: string[], env: Record<string, string> = {}, binary?: string): Promise<CliResult> {
  const proc = spawnCli(args, env, binary);
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { exitCode, stdout, stderr };
}

/** Runs a command that must succeed with --json and returns its one JSON object. */
export async function runCliJson<T = Record<string, unknown>>(
  args: string[],
  env: Record<string, string> = {},
  binary?: string,
): Promise<T> {
  const r = await runCli([...args, "--json"], env, binary);
  if (r.exitCode !== 0) {
    throw new Error(`posthorn ${args.join(" ")} exited ${r.exitCode}: ${r.stderr.trim()}`);
  }
  const lines = r.stdout.trim().split("\n");
  if (lines.length !== 1) throw new Error(`expected one JSON line from posthorn ${args.join(" ")}, got:\n${r.stdout}`);
  return JSON.parse(lines[0]!) as T;
}
