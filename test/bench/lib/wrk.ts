// Closed-loop HTTP load with wrk, parsed: requests/s, latency percentiles, and how many answers
// were not 2xx (a fast stream of 4xx is not throughput, so callers check `non2xx`).
import { join } from "node:path";
import { mustRun } from "./process";

export const LUA_DIR = join(import.meta.dir, "..", "lua");

/** The load: 2 threads, 50 connections, 10 seconds. */
export const WRK_DEFAULTS = { threads: 2, connections: 50, durationS: 10 };

export interface WrkOptions {
  url: string;
  /** Lua script (file name in test/bench/lua or absolute path). */
  script?: string;
  /** Arguments passed to the script's init(args) after `--`. */
  scriptArgs?: string[];
  headers?: Record<string, string>;
  threads?: number;
  connections?: number;
  durationS?: number;
}

export interface WrkResult {
  requestsPerSec: number;
  requests: number;
  /** Latency percentiles in milliseconds. */
  p50: number;
  p75: number;
  p90: number;
  p99: number;
  non2xx: number;
  socketErrors: number;
  raw: string;
}

export async function runWrk(opts: WrkOptions): Promise<WrkResult> {
  const o = { ...WRK_DEFAULTS, ...opts };
  const cmd = ["wrk", `-t${o.threads}`, `-c${o.connections}`, `-d${o.durationS}s`, "--latency", "--timeout", "10s"];
  for (const [k, v] of Object.entries(o.headers ?? {})) cmd.push("-H", `${k}: ${v}`);
  if (o.script) cmd.push("-s", o.script.startsWith("/") ? o.script : join(LUA_DIR, o.script));
  cmd.push(o.url);
  if (o.scriptArgs?.length) cmd.push("--", ...o.scriptArgs);
  const r = await mustRun(cmd, { timeoutMs: (o.durationS + 30) * 1000 });
  return parseWrk(r.stdout);
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function toMs(value: string, unit: string): number {
  return Number(value) * (UNIT_MS[unit] ?? Number.NaN);
}

export function parseWrk(out: string): WrkResult {
  const pct = (p: string) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(out);
    return m ? toMs(m[1]!, m[2]!) : Number.NaN;
  };
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? 0);
  const sockets = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requestsPerSec: num(/Requests\/sec:\s+([\d.]+)/),
    requests: num(/(\d+) requests in/),
    p50: pct("50"),
    p75: pct("75"),
    p90: pct("90"),
    p99: pct("99"),
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/),
    socketErrors: sockets ? sockets.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    raw: out,
  };
}
