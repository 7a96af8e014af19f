// Group commit for Postgres accepts. A unit with a bulk form is gathered with the others that
// arrive in the same turn of the event loop, and its BulkWriter writes them all in one
// transaction: one statement per table for the whole flush instead of BEGIN + 2–3 statements +
// COMMIT per accept, each a socket round trip (a Bun socket write costs ~40 µs of CPU here, and
// the CPU profile of 1,400 accepts/s had 40 % of its time in socket writes).
//
// A few flushes run at once, each on its own pooled connection: one flush waiting for its
// COMMIT (WAL flush) does not stop the next from gathering and writing. They do not deadlock:
// a writer takes its locks in one order in every transaction (units sorted by lock order, a
// statement's rows sorted), and each flush slot writes its statistics to a rollup shard of its
// own (EmailEvents.shardOfSlot), so concurrent flushes of one instance do not even wait on
// each other there.
//
// An expected refusal (quota, idempotency conflict) is a result for that unit alone, and the
// writer writes nothing for it. If the transaction fails anyway, everything was rolled back and
// each unit runs alone through its ordinary write unit — nothing is half-applied and one bad
// unit does not take the others down.
import type { Kysely } from "kysely";
import type { Db } from "../database";
import { databaseUnavailableReason } from "../errors";
import type { Database } from "../schema";
import { PipelinedTransactions } from "./pipelined-transaction";
import type { WriteUnit } from "./write-unit";

/** A unit's answer from a bulk write. `alone`: run the unit by itself once this flush committed. */
export type BulkResult<R> = { ok: true; value: R } | { ok: false; error: unknown } | { ok: false; alone: true };

export interface BulkWriter<I, R> {
  /**
   * Writes `items` (sorted by lock order) in `trx`; one result per item, in order. `slot`
   * (0 … POSTGRES_BULK_FLUSHES_IN_FLIGHT − 1) tells concurrent flushes of this process apart.
   * On Postgres `trx` is pipelined (pipelined-transaction.ts): statements that do not need each
   * other's answers may be issued together and awaited once; they run in the order issued.
   */
  writeAll(trx: Kysely<Database>, items: I[], flush: { slot: number }): Promise<BulkResult<R>[]>;
}

export interface BulkWrite<R> {
  writer: BulkWriter<any, R>;
  item: unknown;
}

/** Accepts written in one transaction at most (a flush's JSON stays ~1 MB at ~2 KB an email). */
export const MAX_BULK_UNITS_PER_COMMIT = 512;
/**
 * Gathered transactions in flight at once. wrk -t2 -c50, 2 cores, pipelined flushes, three
 * runs each (accepts/s): 1 → 8,600–9,400, 2 → 8,800–9,600, 4 → 8,700–8,800. One more than one:
 * a flush waiting for its COMMIT's WAL flush does not hold the next one back.
 */
export const POSTGRES_BULK_FLUSHES_IN_FLIGHT = 2;

interface BulkPending {
  unit: WriteUnit<unknown>;
  bulk: BulkWrite<unknown>;
  lockOrder: string;
  resolve(value: unknown): void;
  reject(reason: unknown): void;
}

export class BulkFlushes {
  #pending: BulkPending[] = [];
  #freeSlots = Array.from({ length: POSTGRES_BULK_FLUSHES_IN_FLIGHT }, (_, i) => i).reverse();
  #scheduled = false;
  /** Each slot's pipelined transaction (Postgres). */
  readonly #transactions: PipelinedTransactions[] | undefined;

  constructor(
    private readonly db: Db,
    private readonly stats: { commits: number; units: number },
    /** Runs a unit in a transaction of its own. */
    private readonly alone: (unit: WriteUnit<unknown>) => Promise<unknown>,
  ) {
    const pg = db.pg;
    this.#transactions = pg
      ? Array.from({ length: POSTGRES_BULK_FLUSHES_IN_FLIGHT }, () => new PipelinedTransactions(pg))
      : undefined;
  }

  /** Something is waiting or being written. */
  get busy(): boolean {
    return this.#pending.length > 0 || this.#freeSlots.length < POSTGRES_BULK_FLUSHES_IN_FLIGHT;
  }

  write(unit: WriteUnit<unknown>, bulk: BulkWrite<unknown>, lockOrder: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ unit, bulk, lockOrder, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#freeSlots.length === 0) return;
    this.#scheduled = true;
    // As on SQLite: everything that arrived in this turn of the event loop goes together.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    const slot = this.#freeSlots.pop();
    if (slot === undefined) return;
    const batch = this.#pending.splice(0, MAX_BULK_UNITS_PER_COMMIT);
    // Another slot may start gathering at once while this one writes.
    if (this.#pending.length > 0) this.#schedule();
    batch.sort((a, b) => (a.lockOrder < b.lockOrder ? -1 : a.lockOrder > b.lockOrder ? 1 : 0)); // stable
    try {
      const byWriter = new Map<BulkWriter<unknown, unknown>, BulkPending[]>();
      for (const p of batch) {
        const group = byWriter.get(p.bulk.writer);
        if (group) group.push(p);
        else byWriter.set(p.bulk.writer, [p]);
      }
      for (const [writer, group] of byWriter) await this.#commitTogether(writer, group, slot);
    } finally {
      this.#freeSlots.push(slot);
      if (this.#pending.length > 0) this.#schedule();
    }
  }

  async #commitTogether(writer: BulkWriter<unknown, unknown>, group: BulkPending[], slot: number): Promise<void> {
    let results: BulkResult<unknown>[];
    try {
      const items = group.map((p) => p.bulk.item);
      const pipelined = this.#transactions?.[slot];
      results = pipelined
        ? await pipelined.run((trx) => writer.writeAll(trx, items, { slot }))
        : await this.db.kysely.transaction().execute((trx) => writer.writeAll(trx, items, { slot }));
      this.stats.units += group.length;
    } catch (error) {
      if (databaseUnavailableReason(error) !== undefined) {
        // Each unit alone would fail the same way; the caller hears 503 and may retry.
        for (const p of group) p.reject(error);
      } else {
        await Promise.all(group.map((p) => this.#runAlone(p)));
      }
      return;
    } finally {
      this.stats.commits++;
    }
    const later: BulkPending[] = [];
    group.forEach((p, i) => {
      const r = results[i];
      if (r?.ok) p.resolve(r.value);
      else if (r === undefined || "alone" in r) later.push(p);
      else p.reject(r.error);
    });
    await Promise.all(later.map((p) => this.#runAlone(p)));
  }

  async #runAlone(p: BulkPending): Promise<void> {
    try {
      p.resolve(await this.alone(p.unit));
    } catch (err) {
      p.reject(err);
    }
  }
}
