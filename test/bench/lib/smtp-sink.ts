// Postfix's smtp-sink as the SMTP peer: C, single process, answers 250 without storing, so the
// sink is never the bottleneck (smtp-source pushes ~25,000 messages/s into it here). Messages
// are counted from its `-c` counters ("sess=N quit=N mesg=N\r" on every "."), which it
// flushes as it goes, so reading the tail of its output file gives a live count.
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { onCleanup } from "./cleanup";
import { freePort, hasCommand, mustRun, sleep, tempDir } from "./process";

const SMTP_SINK = "smtp-sink";
const SMTP_SOURCE = "smtp-source";
/** Connection backlog; smtp-sink's own default cap of 256 simultaneous sessions stays. */
const BACKLOG = "1024";

export interface SmtpSink {
  host: string;
  port: number;
  /** Messages received so far (each "." answered). */
  count(): number;
  /** Resolves with the time (performance.now()) the count reached `n`, or undefined on timeout. */
  waitForCount(n: number, timeoutMs: number, pollMs?: number): Promise<number | undefined>;
  stop(): Promise<void>;
}

export function smtpToolsAvailable(): boolean {
  return hasCommand(SMTP_SINK) && hasCommand(SMTP_SOURCE);
}

export async function startSmtpSink(): Promise<SmtpSink> {
  if (!hasCommand(SMTP_SINK)) throw new Error("smtp-sink not found: run test/bench/setup.sh");
  const dir = tempDir("sink");
  const outPath = join(dir.path, "counters.txt");
  const port = freePort();
  const args = ["-c"];
  // As root smtp-sink refuses to run without dropping privileges (-u).
  if (process.getuid?.() === 0) args.push("-u", "nobody");
  const out = Bun.file(outPath);
  const proc = Bun.spawn([SMTP_SINK, ...args, `127.0.0.1:${port}`, BACKLOG], { stdout: out, stderr: out });
  const stop = onCleanup(async () => {
    if (proc.exitCode === null) proc.kill("SIGKILL");
    await proc.exited;
    await dir.remove();
  });

  const count = (): number => {
    let fd: number | undefined;
    try {
      const size = statSync(outPath).size;
      const len = Math.min(size, 256);
      const buf = Buffer.alloc(len);
      fd = openSync(outPath, "r");
      readSync(fd, buf, 0, len, size - len);
      const all = [...buf.toString("latin1").matchAll(/mesg=(\d+)/g)];
      return all.length ? Number(all[all.length - 1]![1]) : 0;
    } catch {
      return 0;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  };

  // Ready when it accepts a TCP connection.
  const deadline = performance.now() + 5000;
  for (;;) {
    const ok = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } }).then(
      (s) => {
        s.end();
        return true;
      },
      () => false,
    );
    if (ok) break;
    if (proc.exitCode !== null || performance.now() > deadline) {
      await stop();
      throw new Error(`smtp-sink did not start on port ${port}`);
    }
    await sleep(5);
  }

  return {
    host: "127.0.0.1",
    port,
    count,
    async waitForCount(n, timeoutMs, pollMs = 2) {
      const end = performance.now() + timeoutMs;
      while (performance.now() < end) {
        if (count() >= n) return performance.now();
        await sleep(pollMs);
      }
      return count() >= n ? performance.now() : undefined;
    },
    stop: () => stop(),
  };
}

/**
 * Postfix's own client, the ceiling for "SMTP from this machine into the sink": `sessions`
 * connections kept open (-d), each message `size` bytes of body. Returns messages/s.
 */
export async function runSmtpSource(
  sink: SmtpSink,
  opts: { messages: number; sessions: number; size: number },
): Promise<{ rate: number; ms: number }> {
  const before = sink.count();
  const started = performance.now();
  await mustRun(
    [
      SMTP_SOURCE,
      "-d",
      "-s",
      String(opts.sessions),
      "-m",
      String(opts.messages),
      "-l",
      String(opts.size),
      "-f",
      "bench@example.com",
      "-t",
      "rcpt@example.com",
      `${sink.host}:${sink.port}`,
    ],
    { timeoutMs: 60_000 },
  );
  const ms = performance.now() - started;
  const delivered = sink.count() - before;
  if (delivered < opts.messages) throw new Error(`smtp-source: sink counted ${delivered} of ${opts.messages}`);
  return { rate: (opts.messages / ms) * 1000, ms };
}
