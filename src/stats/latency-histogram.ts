// Accept-to-250 latency as a fixed log-scale histogram: cell i counts latencies up to
// 5 ms · 2^i (5 ms … 23.3 h), the last cell everything above. Cells add up across rows, so
// p50/p95 of any group come from summed rollups; interpolating inside a doubling cell keeps the
// estimate within a factor of √2 of the truth, and much closer in practice.
import type { LatencyColumn } from "../db";

export const LATENCY_CELLS = 26;
const FIRST_BOUND_MS = 5;

/** Upper bound (ms) of each cell but the last, which is open. */
export const LATENCY_BOUNDS_MS: readonly number[] = Array.from(
  { length: LATENCY_CELLS - 1 },
  (_, i) => FIRST_BOUND_MS * 2 ** i,
);

export const LATENCY_COLUMNS: readonly LatencyColumn[] = Array.from(
  { length: LATENCY_CELLS },
  (_, i) => `lat_${String(i).padStart(2, "0")}` as LatencyColumn,
);

/** The cell a latency falls in. */
export function latencyCell(ms: number): number {
  if (ms <= FIRST_BOUND_MS) return 0;
  const cell = Math.ceil(Math.log2(ms / FIRST_BOUND_MS));
  return Math.min(cell, LATENCY_CELLS - 1);
}

/**
 * The q-quantile (0–1) of the latencies counted in `cells`, interpolated geometrically inside
 * its cell (linearly in the first, which starts at 0); null when nothing was counted.
 */
export function latencyQuantile(cells: readonly number[], q: number): number | null {
  const total = cells.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < cells.length; i++) {
    const n = cells[i] ?? 0;
    if (n > 0 && below + n >= rank) {
      const within = Math.min(Math.max((rank - below) / n, 0), 1);
      const upper = LATENCY_BOUNDS_MS[i];
      if (upper === undefined) return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1] ?? null;
      if (i === 0) return Math.round(upper * within);
      const lower = upper / 2;
      return Math.round(lower * 2 ** within);
    }
    below += n;
  }
  return null;
}
