// UTC time windows. Send counters and quotas belong to the window their count was made in; a
// count from an older window reads as 0, so limits stay right even when no reset job ran at the
// boundary (the process was down, or another instance had the job).

export const SECOND_MS = 1000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** Start (ms) of the window of `windowMs` holding `ms`; windows are counted from the epoch, so they are UTC-aligned. */
export function windowStart(ms: number, windowMs: number): number {
  return Math.floor(ms / windowMs) * windowMs;
}

/** Start of the UTC hour holding `ms` (hours have no leap seconds in epoch time, so this is exact). */
export const hourWindowStart = (ms: number): number => windowStart(ms, HOUR_MS);

/** Start of the UTC day holding `ms`. */
export const dayWindowStart = (ms: number): number => windowStart(ms, DAY_MS);

/** Start of the window after the one holding `ms`: when a held email may try again. */
export const nextHourWindowStart = (ms: number): number => hourWindowStart(ms) + HOUR_MS;
export const nextDayWindowStart = (ms: number): number => dayWindowStart(ms) + DAY_MS;
