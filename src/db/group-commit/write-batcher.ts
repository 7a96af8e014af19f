// Group commit. On SQLite every write goes through one connection, and with synchronous=FULL
// each COMMIT costs an fsync (~3,000 commits/s here). Writes that arrive while a commit is in
// progress are gathered and applied in the next single `BEGIN IMMEDIATE … COMMIT`; each
// caller's promise settles only after the COMMIT holding its write (measured with wrk on this
// kind of machine: ≈21,600 gathered inserts/s against ≈3,000 one per commit).
//
// Units are written "check, then write", so an expected refusal (quota, idempotency) throws
// before the unit has written anything. If a unit throws anyway, the whole gathered
// transaction is rolled back and every unit is re-run alone, so one bad write never takes
// others down with it and nothing is half-applied.
//
// On Postgres a unit somebody waits on is its own transaction on its own pooled connection —
// the server groups concurrent WAL flushes itself — unless it comes with a bulk form (an
// accept): those are gathered as on SQLite, but written together by their BulkWriter (a
// statement per table for the whole flush, not a few per unit), with a few flushes in flight
// on separate connections (bulk-flushes.ts). Background units (send outcomes) are gathered
// into shared transactions as on SQLite, all started at once in one pipelined transaction
// (pipelined-transaction.ts), so each round of their statements costs one round trip.
import type { Kysely } from "kysely";
import type { Db } from "../database";
import { databaseUnavailableReason } from "../errors";
import type { Database } from "../schema";
import { BulkFlushes, type BulkResult, type BulkWrite } from "./bulk-flushes";
import { PipelinedTransactions } from "./pipelined-transaction";

import type { WriteUnit } from "./write-unit";

export type { BulkResult, BulkWrite, BulkWriter } from "./bulk-flushes";
export type { WriteUnit } from "./write-unit";

interface Pending {
  unit: WriteUnit<unknown>;
  lockOrder: string;
  /** A background unit's bulk form (Postgres): gathered units of one writer are written together. */
  bulk: BulkWrite<unknown> | undefined;
  /** A background unit is retried while the database is unavailable, until this time (ms). */
  retryUntil: number | undefined;
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
/**
 * How long a background unit outlives a database that does not answer (Postgres restarting, a
 * full disk), retried every BACKGROUND_RETRY_PAUSE_MS: as long as a default lease. A send outcome
 * given up at the first failure was lost, its lease expired, and the email was sent again (a
 * Postgres restart under load: ~150 duplicates of 600 emails).
 */
export const BACKGROUND_RETRY_FOR_MS = 60_000;
export const BACKGROUND_RETRY_PAUSE_MS = 250;

export interface WriteOptions {
  /** Nobody is waiting on an answer: the write may wait BACKGROUND_GATHER_MS to share a commit. */
  background?: boolean;
  /**
   * Where the unit goes in a gathered transaction: units run in this order (then arrival order),
   * so that gathered transactions of several instances lock shared rows (an account's counters,
   * a tenant's rollups) in one order. In arrival order they deadlocked on Postgres (three
   * instances, two accounts: 6–10 deadlocks per run, each a 1 s stall until Postgres broke it).
   * Send outcomes pass "tenant account shard" (the rollup shard their statistics go to).
   */
  lockOrder?: string;
  /**
   * The same write as `unit`, in a form a BulkWriter writes together with others of its kind
   * (Postgres only; SQLite runs `unit`). `unit` stays the truth: it is what runs alone when
   * the gathered transaction fails. Accepts (waited on) go through bulk-flushes.ts; background
   * units (send outcomes) are written together when a whole gathered flush has one writer.
   */
  bulk?: BulkWrite<unknown>;
}

export class WriteBatcher {
  #pending: Pending[] = [];
  #flushing = false;
  #immediate = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Transactions committed and units written, for benchmarks and metrics. */
  readonly stats = { commits: 0, units: 0 };
  readonly #bulk: BulkFlushes;

  /** Postgres: gathered background units (send outcomes) run in one pipelined transaction. */
  readonly #pipelined: PipelinedTransactions | undefined;

  constructor(private readonly db: Db) {
    this.#bulk = new BulkFlushes(db, this.stats, (unit) => this.#alone(unit));
    this.#pipelined = db.pg ? new PipelinedTransactions(db.pg) : undefined;
  }

  /** Runs `unit` inside a transaction; resolves after that transaction has committed. */
  write<T>(unit: WriteUnit<T>, opts: WriteOptions = {}): Promise<T> {
    if (this.db.dialect === "postgres" && opts.bulk && !opts.background) {
      return this.#bulk.write(unit, opts.bulk, opts.lockOrder ?? "") as Promise<T>;
    }
    if (this.db.dialect === "postgres" && !opts.background) {
      // A caller is waiting: its own transaction on its own pooled connection, side by side
      // with the others (Postgres groups concurrent WAL flushes by itself).
      this.stats.commits++;
      this.stats.units++;
      return this.db.kysely.transaction().execute(unit);
    }
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({
        unit,
        lockOrder: opts.lockOrder ?? "",
        bulk: opts.background ? opts.bulk : undefined,
        retryUntil: opts.background ? Date.now() + BACKGROUND_RETRY_FOR_MS : undefined,
        resolve: resolve as (v: unknown) => void,
        reject,
      });
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
    batch.sort((a, b) => (a.lockOrder < b.lockOrder ? -1 : a.lockOrder > b.lockOrder ? 1 : 0)); // stable
    try {
      const together = await this.#commitTogether(batch);
      if (together.ok && together.answers) {
        for (let i = 0; i < batch.length; i++) {
          const p = batch[i]!;
          const answer = together.answers[i]!;
          if (answer.ok) p.resolve(answer.value);
          else if ("alone" in answer) await this.#commitAlone(p);
          else p.reject(answer.error);
        }
      } else if (together.ok) {
        for (let i = 0; i < batch.length; i++) batch[i]!.resolve(together.results[i]);
      } else if (databaseUnavailableReason(together.error) !== undefined) {
        // Each unit alone would fail the same way (one connection attempt after another).
        for (const p of batch) this.#unavailable(p, together.error);
      } else {
        for (const p of batch) await this.#commitAlone(p);
      }
    } finally {
      this.#flushing = false;
      if (this.#pending.length > 0) this.#scheduleNow();
    }
  }

  /** All units in one transaction; on failure (a unit threw, or the database) everything was rolled back. */
  async #commitTogether(
    batch: Pending[],
  ): Promise<{ ok: true; results: unknown[]; answers?: BulkResult<unknown>[] } | { ok: false; error: unknown }> {
    if (batch.length === 1) return { ok: false, error: undefined };
    try {
      const writer = batch[0]!.bulk?.writer;
      if (this.#pipelined && writer && batch.every((p) => p.bulk?.writer === writer)) {
        const items = batch.map((p) => p.bulk!.item);
        const answers = await this.#pipelined.run((trx) => writer.writeAll(trx, items, { slot: 0 }));
        this.stats.units += batch.length;
        return { ok: true, results: [], answers };
      }
      const results = this.#pipelined
        ? await this.#pipelined.run((trx) => allUnitsAtOnce(batch, trx))
        : await this.db.kysely.transaction().execute(async (trx) => {
            const out: unknown[] = [];
            for (const p of batch) out.push(await p.unit(trx));
            return out;
          });
      this.stats.units += batch.length;
      return { ok: true, results };
    } catch (error) {
      return { ok: false, error };
    } finally {
      this.stats.commits++;
    }
  }

  /** A unit in a transaction of its own (a bulk unit whose gathered transaction failed). */
  async #alone(unit: WriteUnit<unknown>): Promise<unknown> {
    try {
      const result = await this.db.kysely.transaction().execute(unit);
      this.stats.units++;
      return result;
    } finally {
      this.stats.commits++;
    }
  }

  async #commitAlone(p: Pending): Promise<void> {
    try {
      p.resolve(await this.db.kysely.transaction().execute(p.unit));
      this.stats.units++;
    } catch (err) {
      if (databaseUnavailableReason(err) !== undefined) this.#unavailable(p, err);
      else p.reject(err);
    } finally {
      this.stats.commits++;
    }
  }

  /** The database did not answer: a background unit tries again a moment later, a caller hears at once. */
  #unavailable(p: Pending, err: unknown): void {
    if (p.retryUntil === undefined || Date.now() > p.retryUntil) {
      p.reject(err);
      return;
    }
    setTimeout(() => {
      this.#pending.push(p);
      this.#scheduleLater();
    }, BACKGROUND_RETRY_PAUSE_MS);
  }

  /** Waits until everything submitted so far has committed (shutdown). */
  async drain(): Promise<void> {
    while (this.#pending.length > 0 || this.#flushing || this.#bulk.busy) {
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}

/**
 * Postgres, gathered background units (send outcomes): all started at once in a pipelined
 * transaction, so each round of their statements (the fenced updates, then everything after)
 * costs one round trip for the whole flush instead of one per statement per unit — a flush of
 * ~35 outcomes was ~175 round trips one after another (~1,400 outcomes/s at most). Statements
 * run in the order issued and the units were sorted by lock order, so each round still takes
 * shared rows in that order. Every unit is waited for before the first failure is thrown.
 */
async function allUnitsAtOnce(batch: Pending[], trx: Kysely<Database>): Promise<unknown[]> {
  const settled = await Promise.allSettled(batch.map((p) => p.unit(trx)));
  const failed = settled.find((s) => s.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value);
}
