// Every process and temp directory a benchmark starts registers its undo here, so that a
// failure, Ctrl-C or an uncaught error never leaves an smtp-sink, a server or a 2 GB database
// behind. Benchmarks still clean up in their own try/finally; this is the safety net.
type Disposer = () => void | Promise<void>;

const disposers = new Set<Disposer>();

/**
 * Registers `fn` to run at exit; returns a function that runs it now and unregisters it.
 * It runs once: a second caller (a benchmark's finally racing the Ctrl-C clean-up) waits for
 * the same run, so nothing is dropped while the process that uses it is still stopping.
 */
export function onCleanup(fn: Disposer): () => Promise<void> {
  let running: Promise<void> | undefined;
  const run = (): Promise<void> => {
    running ??= (async () => {
      disposers.delete(run);
      await fn();
    })();
    return running;
  };
  disposers.add(run);
  return run;
}

/**
 * Runs every pending disposer, newest first (a server stops before its data directory goes).
 * Each leaves the set only as it runs, so an exit part-way still finds the rest.
 */
export async function cleanupAll(): Promise<void> {
  for (;;) {
    const run = [...disposers].pop();
    if (!run) return;
    try {
      await run();
    } catch {
      // Best effort: one failed undo must not keep the others from running.
    }
  }
}

let installed = false;
let interruption: Promise<never> | undefined;

/**
 * After Ctrl-C: the clean-up in progress, which ends the process. A benchmark cut short fails
 * in odd ways (its wrk was killed); the runner awaits this instead of reporting that failure.
 */
export const interrupted = (): Promise<never> | undefined => interruption;

/** Hooks signals and exit once; async disposers (dropping a Postgres schema) run on signals. */
export function installCleanupHandlers(): void {
  if (installed) return;
  installed = true;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: cleaning up benchmark processes…\n`);
      interruption ??= cleanupAll().finally(() => process.exit(130)) as Promise<never>;
    });
  }
  // At plain exit only the synchronous part of each disposer can still run (kill, rmSync).
  process.once("exit", () => {
    for (const fn of [...disposers].reverse()) {
      try {
        void fn();
      } catch {}
    }
  });
}
