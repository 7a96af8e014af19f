// An open-loop client (wrk2 is not packaged here): requests start on a fixed schedule whatever
// the server's speed, so a slow answer cannot hide latency by slowing the load (coordinated
// omission). Latency is measured from each request's scheduled start, or from its actual start
// when a timer woke up early (Bun's timers may fire up to ~1 ms ahead).

export interface PacedResult<T> {
  /** One entry per request, in schedule order. */
  results: { status: number; latencyMs: number; body: T | undefined }[];
  /** Requests that could not be started on time (the client itself fell behind). */
  lateStarts: number;
  elapsedMs: number;
}

export async function pacedRequests<T = unknown>(opts: {
  url: string;
  ratePerSec: number;
  durationS: number;
  init: () => RequestInit;
}): Promise<PacedResult<T>> {
  const total = Math.round(opts.ratePerSec * opts.durationS);
  const intervalMs = 1000 / opts.ratePerSec;
  const started = performance.now();
  const pending: Promise<PacedResult<T>["results"][number]>[] = [];
  let lateStarts = 0;
  for (let i = 0; i < total; i++) {
    const due = started + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 1) await Bun.sleep(wait);
    else if (wait < -5) lateStarts++;
    const from = Math.min(due, performance.now());
    pending.push(
      fetch(opts.url, opts.init()).then(
        async (res) => {
          const body = (await res.json().catch(() => undefined)) as T | undefined;
          return { status: res.status, latencyMs: performance.now() - from, body };
        },
        () => ({ status: 0, latencyMs: performance.now() - from, body: undefined }),
      ),
    );
  }
  const results = await Promise.all(pending);
  return { results, lateStarts, elapsedMs: performance.now() - started };
}
