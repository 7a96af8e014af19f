// Group commit. On SQLite every write goes through one connection, and with synchronous=FULL
// each COMMIT costs an fsync (~3,000 commits/s here). Writes that arrive while a commit is in
// progress are gathered and applied in the next single `BEGIN IMMEDIATE … COMMIT`; each
// caller's promise settles only after the COMMIT holding its write (STACK-NOTES: ≈21,600
// gathered inserts/s vs ≈3,000 one-per-commit).
//
// Units are written "check, then write", so an expected refusal (quota, idempotency) throws
// before the unit has written anything. If a unit throws anyway, the whole gathered
// transaction is rolled back and every unit is re-run alone, so one bad write never takes
// others down with it and nothing is half-applied.
//
// On Postgres a unit somebody waits on (an accept) is its own transaction on its own pooled
// connection — the server groups concurrent WAL flushes itself; background units (send
// outcomes) are gathered into shared transactions as on SQLite.
import type { Kysely } from "kysely";
import type { Db } from "../db/database";
import type { Database } from "../db/schema";

export type WriteUnit<T> = (trx: Kysely<Database>) => Promise<T>;

interface Pending {
  unit: WriteUnit<unknown>;
  resolve(value: unknown): void;
  reject(reason: unknown): void;
}

/** Most units gathered into one transaction; beyond it the next commit takes the rest. */
export const MAX_UNITS_PER_COMMIT = 512;
/**
 * How long a `background` write may wait for company. Send outcomes finish one by one as SMTP
 * replies arrive; committing each alone cost one fsync per email (≈2.4 emails per commit in
 * the dispatch profile), so they wait a moment to share a commit. Nobody waits on them but
 * the dispatcher, and the lease covers the delay.
 */
export const BACKGROUND_GATHER_MS = 10;

export interface WriteOptions {
  /** Nobody is waiting on an answer: the write may wait BACKGROUND_GATHER_MS to share a commit. */
  background?: boolean;
}

export class WriteBatcher {
  #pending: Pending[] = [];
  #flushing = false;
  #immediate = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Transactions committed and units written, for benchmarks and metrics. */
  readonly stats = { commits: 0, units: 0 };

  constructor(private readonly db: Db) {}

  /** Runs `unit` inside a transaction; resolves after that transaction has committed. */
  write<T>(unit: WriteUnit<T>, opts: WriteOptions = {}): Promise<T> {
    if (this.db.dialect === "postgres" && !opts.background) {
      // A caller is waiting: its own transaction on its own pooled connection, side by side
      // with the others (Postgres groups concurrent WAL flushes by itself).
      this.stats.commits++;
      this.stats.units++;
      return this.db.kysely.transaction().execute(unit);
    }
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ unit, resolve: resolve as (v: unknown) => void, reject });
      if (opts.background) this.#scheduleLater();
      else this.#scheduleNow();
    });
  }

  #scheduleNow(): void {
    if (this.#flushing || this.#immediate) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#immediate = true;
    // setImmediate, not a timer: everything that arrived in this turn of the event loop is
    // gathered, and while a commit is running new work piles up for the next one by itself.
    setImmediate(() => {
      this.#immediate = false;
      void this.#flush();
    });
  }

  #scheduleLater(): void {
    if (this.#flushing || this.#immediate || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#flush();
    }, BACKGROUND_GATHER_MS);
  }

  async #flush(): Promise<void> {
    if (this.#flushing || this.#pending.length === 0) return;
    this.#flushing = true;
    const batch = this.#pending.splice(0, MAX_UNITS_PER_COMMIT);
    try {
      const results = await this.#commitTogether(batch);
      if (results) {
        for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]);
      } else {
        for (const p of batch) await this.#commitAlone(p);
      }
    } finally {
      this.#flushing = false;
      if (this.#pending.length > 0) this.#scheduleNow();
    }
  }

  /** All units in one transaction; undefined when a unit failed (and everything was rolled back). */
  async #commitTogether(batch: Pending[]): Promise<unknown[] | undefined> {
    if (batch.length === 1) return undefined;
    try {
      const results = await this.db.kysely.transaction().execute(async (trx) => {
        const out: unknown[] = [];
        for (const p of batch) out.push(await p.unit(trx));
        return out;
      });
      this.stats.units += batch.length;
      return results;
    } catch {
      return undefined;
    } finally {
      this.stats.commits++;
    }
  }

  async #commitAlone(p: Pending): Promise<void> {
    try {
      p.resolve(await this.db.kysely.transaction().execute(p.unit));
      this.stats.units++;
    } catch (err) {
      p.reject(err);
    } finally {
      this.stats.commits++;
    }
  }

  /** Waits until everything submitted so far has committed (shutdown). */
  async drain(): Promise<void> {
    while (this.#pending.length > 0 || this.#flushing) {
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}

/** `true` when the error is a unique-constraint violation, on either dialect. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; errno?: number; message?: string };
  return (
    e?.code === "23505" ||
    e?.code === "SQLITE_CONSTRAINT_PRIMARYKEY" ||
    e?.code === "SQLITE_CONSTRAINT_UNIQUE" ||
    /UNIQUE constraint failed/.test(e?.message ?? "")
  );
}
