// Child processes for benchmarks: servers waited on until ready, commands run to completion,
// memory read from /proc, temp directories — each registered for cleanup.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onCleanup } from "./cleanup";

export const REPO_ROOT = join(import.meta.dir, "..", "..", "..");

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A temp directory removed at cleanup (or by the returned function). */
export function tempDir(prefix: string): { path: string; remove: () => Promise<void> } {
  const path = mkdtempSync(join(tmpdir(), `posthorn-bench-${prefix}-`));
  const remove = onCleanup(() => rmSync(path, { recursive: true, force: true }));
  return { path, remove };
}

/** A port nobody listens on right now (the OS picks it; tiny race before the child binds it). */
export function freePort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

/** Resident memory of a process in KiB (VmRSS), or undefined once it has gone. */
export function rssKb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU time a process has used so far (user + system, all threads) in ms, or undefined once it
 * has gone. On a shared 2-core machine wall-clock rates swing with whatever else runs; CPU per
 * unit of work barely moves, so benchmarks report both.
 */
export function cpuMs(pid: number): number | undefined {
  try {
    // Fields 14 and 15 of /proc/<pid>/stat, counted after the ")" that ends the command name.
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(")").pop()!.trim().split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}
/** USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK). */
const CLOCK_TICKS_PER_SECOND = 100;

/** Keeps the last `max` characters a child printed, for error messages. */
function drain(stream: ReadableStream<Uint8Array>, max = 8192): () => string {
  let tail = "";
  const decoder = new TextDecoder();
  void (async () => {
    for await (const chunk of stream) {
      tail = (tail + decoder.decode(chunk, { stream: true })).slice(-max);
    }
  })().catch(() => {});
  return () => tail;
}

export interface ChildServer {
  name: string;
  pid: number;
  url: string;
  /** What the child printed last (stdout and stderr), for diagnosing a failed start. */
  output(): string;
  rssKb(): number | undefined;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartServerOptions {
  name: string;
  cmd: string[];
  env?: Record<string, string | undefined>;
  port: number;
  /** Path answered with 200 once the server can take load. */
  readyPath: string;
  timeoutMs?: number;
  cwd?: string;
}

/** Starts a server process and resolves once `readyPath` answers 200. */
export async function startServer(opts: StartServerOptions): Promise<ChildServer & { readyMs: number }> {
  const started = performance.now();
  const proc = Bun.spawn(opts.cmd, {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...process.env, ...opts.env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const out = drain(proc.stdout);
  const err = drain(proc.stderr);
  const output = () => `${out()}${err()}`.trim();
  const stop = onCleanup(async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill("SIGTERM");
    const gone = await Promise.race([proc.exited.then(() => true), sleep(5000).then(() => false)]);
    if (!gone) proc.kill("SIGKILL");
    await proc.exited;
  });
  const url = `http://127.0.0.1:${opts.port}`;
  const deadline = started + (opts.timeoutMs ?? 15_000);
  try {
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`${opts.name} exited with ${proc.exitCode} before ready`);
      if (performance.now() > deadline) throw new Error(`${opts.name} not ready within ${opts.timeoutMs ?? 15_000} ms`);
      const ok = await fetch(`${url}${opts.readyPath}`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      await sleep(2);
    }
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n--- ${opts.name} output ---\n${output()}`);
  }
  return {
    name: opts.name,
    pid: proc.pid,
    url,
    readyMs: performance.now() - started,
    output,
    rssKb: () => rssKb(proc.pid),
    stop: () => stop(),
  };
}

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to completion (killed after `timeoutMs`). */
export async function runCommand(
  cmd: string[],
  opts: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
  const started = performance.now();
  const proc = Bun.spawn(cmd, {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...process.env, ...opts.env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const kill = onCleanup(() => {
    if (proc.exitCode === null) proc.kill("SIGKILL");
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
  try {
    const [stdout, stderr, exitCode] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    return { exitCode, stdout, stderr, ms: performance.now() - started };
  } finally {
    clearTimeout(timer);
    await kill();
  }
}

/** Like runCommand, but throws with the command's own words when it fails. */
export async function mustRun(
  cmd: string[],
  opts: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
  const r = await runCommand(cmd, opts);
  if (r.exitCode !== 0) {
    throw new Error(`\`${cmd.join(" ")}\` exited ${r.exitCode}: ${(r.stderr || r.stdout).trim().slice(-2000)}`);
  }
  return r;
}

/** True when `name` is an executable on PATH (or an absolute path that exists). */
export function hasCommand(name: string): boolean {
  return Bun.which(name) !== null;
}
