// Figures a reliability test measured (emails pushed, duplicates, lost…), printed as one line
// and, when POSTHORN_RELIABILITY_RESULTS names a file, appended to it as JSON, so the README's
// reliability section can quote a real run.
import { appendFileSync } from "node:fs";

export function reportFigures(test: string, figures: Record<string, unknown>): void {
  const entry = { test, at: new Date().toISOString(), ...figures };
  console.info(`reliability figures: ${JSON.stringify(entry)}`);
  const file = process.env.POSTHORN_RELIABILITY_RESULTS;
  if (file) appendFileSync(file, `${JSON.stringify(entry)}\n`);
}

/** How many times each email id arrived, and the copies beyond the first. */
export function deliveryCounts(ids: (string | undefined)[]): { counts: Map<string, number>; duplicates: number } {
  const counts = new Map<string, number>();
  for (const id of ids) if (id) counts.set(id, (counts.get(id) ?? 0) + 1);
  let duplicates = 0;
  for (const n of counts.values()) duplicates += n - 1;
  return { counts, duplicates };
}

/** The email id Posthorn puts in every message it sends. */
export const emailIdOf = (raw: string): string | undefined => /^X-Posthorn-Email-Id: (\S+)$/im.exec(raw)?.[1];
