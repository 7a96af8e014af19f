// A real `posthorn serve` in a child process (so it can be killed with SIGKILL or SIGTERM),
// on a free port, against a test database; its log lines are kept for the test to read.
import { spawnCli } from "./cli";

export interface ServeProcess {
  url: string;
  pid: number;
  /** Parsed JSON log lines written so far. */
  logs: Record<string, unknown>[];
  kill(signal: "SIGKILL" | "SIGTERM"): void;
  /** Exit code once the process has ended. */
  exited: Promise<number>;
}

export interface ServeOptions {
  timeoutMs?: number;
  /** Run this compiled executable instead of `bun src/main.ts`. */
  binary?: string;
}

/** Starts the server and resolves once it logged "posthorn started" (rejects after `timeoutMs`). */
export async function startServeProcess(
  env: Record<string, string>,
  { timeoutMs = 15_000, binary }: ServeOptions = {},
): Promise<ServeProcess> {
  const proc = spawnCli(
    ["serve", "--port", "0", "--host", "127.0.0.1"],
    { POSTHORN_LOG_LEVEL: "info", ...env },
    binary,
  );
  const logs: Record<string, unknown>[] = [];
  let started: (url: string) => void = () => {};
  const ready = new Promise<string>((resolve) => {
    started = resolve;
  });
  void (async () => {
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of proc.stdout) {
      buffered += decoder.decode(chunk, { stream: true });
      let nl = buffered.indexOf("\n");
      while (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (entry.msg === "posthorn started") started(String(entry.url));
        } catch {
          // not a log line
        }
        nl = buffered.indexOf("\n");
      }
    }
  })();
  const stderr = new Response(proc.stderr).text();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const url = await Promise.race([
    ready,
    proc.exited.then(async (code) => {
      throw new Error(`posthorn serve exited with ${code} before it started: ${await stderr}`);
    }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        proc.kill("SIGKILL");
        reject(new Error("posthorn serve did not start in time"));
      }, timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer)); // a server that started must not be killed when the timeout comes
  return { url, pid: proc.pid, logs, kill: (signal) => proc.kill(signal), exited: proc.exited };
}
