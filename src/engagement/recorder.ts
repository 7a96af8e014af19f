// Hits on the pixel and the click redirects, recorded without anyone waiting: the endpoint puts
// the hit in a bounded queue and answers at once; every GATHER_MS the queue goes to the database
// as one background unit of the write batcher (one INSERT per flush, whatever the burst), so a
// burst of opens costs accepting and sending one unit per flush, not one per hit. Hits are
// best-effort, not mail: past MAX_PENDING_HITS they are dropped and counted, and the few
// milliseconds still queued are lost if the process dies.
import type { Insertable } from "kysely";
import type { Db, EmailEngagementsTable, EngagementKind, WriteBatcher } from "../db";
import { classifyHit, type HitClass } from "../tracking";
import { findHitEmails, insertEngagements, markMachine } from "./sql";

/** Hits waiting for their flush; past it a hit is dropped (≈1 KB each at most: ~10 MB). */
export const MAX_PENDING_HITS = 10_000;
/** How long a hit waits for company before its flush. */
export const GATHER_MS = 20;
/** Most hits written by one flush; the rest go in the next. */
export const MAX_HITS_PER_FLUSH = 2_000;
/** User agents are kept to this many characters. */
export const MAX_USER_AGENT = 512;
/**
 * Recent hits are remembered this long per recipient, for the burst rule (CLICK_BURST_MS) and
 * to re-decide a burst's first click; hits on another instance are not seen.
 */
const RECENT_MS = 5_000;
const MAX_RECENT_KEYS = 50_000;

export interface Hit {
  kind: EngagementKind;
  emailId: string;
  recipient?: number | string;
  linkIndex?: number;
  url?: string;
  userAgent: string | undefined;
  method: string;
  at: number;
  ip?: string;
}

interface RecentHit {
  id: string;
  at: number;
  linkIndex?: number;
  userAgent: string | undefined;
  method: string;
  verdict: HitClass;
  /** Whether its row is already committed (an UPDATE re-decides it) or still in this flush. */
  written: boolean;
  row?: Insertable<EmailEngagementsTable>;
}

export interface RecorderStats {
  /** Hits written. */
  recorded: number;
  /** Dropped: the queue was full. */
  dropped: number;
  /** Lost: their flush failed. */
  failed: number;
  /** Their email no longer exists. */
  orphaned: number;
}

export interface RecorderOptions {
  maxPending?: number;
  gatherMs?: number;
  /** Keep `hit.ip` (POSTHORN_TRACKING_STORE_IP). */
  storeIp?: boolean;
  onError?: (error: unknown) => void;
  /** Told once per flush how many hits were dropped since the last one (the queue was full). */
  onDropped?: (count: number) => void;
}

const recipientColumn = (r: number | string | undefined): string | null =>
  r === undefined ? null : typeof r === "number" ? `#${r}` : r;

export class EngagementRecorder {
  #queue: Hit[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #flushing: Promise<void> | undefined;
  readonly #recent = new Map<string, RecentHit[]>();
  readonly stats: RecorderStats = { recorded: 0, dropped: 0, failed: 0, orphaned: 0 };
  readonly #maxPending: number;
  readonly #gatherMs: number;
  #droppedReported = 0;

  constructor(
    private readonly db: Db,
    private readonly batcher: WriteBatcher,
    private readonly options: RecorderOptions = {},
  ) {
    this.#maxPending = options.maxPending ?? MAX_PENDING_HITS;
    this.#gatherMs = options.gatherMs ?? GATHER_MS;
  }

  /** Queues the hit; false when it was dropped (the queue is full). Never waits. */
  record(hit: Hit): boolean {
    if (this.#queue.length >= this.#maxPending) {
      this.stats.dropped++;
      return false;
    }
    this.#queue.push(hit);
    this.#schedule();
    return true;
  }

  get pending(): number {
    return this.#queue.length;
  }

  #schedule(): void {
    if (this.#timer || this.#flushing) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, this.#gatherMs);
    this.#timer.unref?.();
  }

  /** Writes everything queued so far (tests, shutdown); resolves once it is committed or given up. */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#queue.length > 0) {
      this.#flushing = this.#flushOnce(this.#queue.splice(0, MAX_HITS_PER_FLUSH));
      try {
        await this.#flushing;
      } finally {
        this.#flushing = undefined;
      }
    }
  }

  async #flushOnce(hits: Hit[]): Promise<void> {
    if (this.stats.dropped > this.#droppedReported) {
      this.options.onDropped?.(this.stats.dropped - this.#droppedReported);
      this.#droppedReported = this.stats.dropped;
    }
    try {
      const emails = await findHitEmails(this.db.kysely, [...new Set(hits.map((h) => h.emailId))]);
      const rows: Insertable<EmailEngagementsTable>[] = [];
      const machineLater: { id: string; reason: string }[] = [];
      const now = hits[hits.length - 1]?.at ?? 0;
      this.#forget(now);
      for (const hit of hits) {
        const email = emails.get(hit.emailId);
        if (!email) {
          this.stats.orphaned++;
          continue;
        }
        const key = `${hit.emailId}|${recipientColumn(hit.recipient)}|${hit.kind}`;
        const recent = this.#recent.get(key) ?? [];
        const verdict = classifyHit({
          kind: hit.kind,
          userAgent: hit.userAgent,
          method: hit.method,
          at: hit.at,
          sentAt: email.sentAt,
          linkIndex: hit.linkIndex,
          previousHits: recent.map((r) => ({ at: r.at, linkIndex: r.linkIndex })),
        });
        const row: Insertable<EmailEngagementsTable> = {
          id: Bun.randomUUIDv7(),
          tenant_id: email.tenantId,
          email_id: hit.emailId,
          recipient: recipientColumn(hit.recipient),
          kind: hit.kind,
          at: hit.at,
          url: hit.url ?? null,
          link_index: hit.linkIndex ?? null,
          user_agent: hit.userAgent ? hit.userAgent.slice(0, MAX_USER_AGENT) : null,
          machine: verdict.machine ? 1 : 0,
          machine_reason: verdict.reason ?? null,
          ip: this.options.storeIp && hit.ip ? hit.ip : null,
        };
        rows.push(row);
        const entry: RecentHit = {
          id: row.id,
          at: hit.at,
          linkIndex: hit.linkIndex,
          userAgent: hit.userAgent,
          method: hit.method,
          verdict,
          written: false,
          row,
        };
        // A burst found now also condemns the earlier clicks that looked human on their own.
        if (verdict.reason === "click_burst") {
          for (const earlier of recent) {
            if (earlier.verdict.machine) continue;
            const again = classifyHit({
              kind: hit.kind,
              userAgent: earlier.userAgent,
              method: earlier.method,
              at: earlier.at,
              sentAt: email.sentAt,
              linkIndex: earlier.linkIndex,
              previousHits: [...recent, entry]
                .filter((r) => r !== earlier)
                .map((r) => ({ at: r.at, linkIndex: r.linkIndex })),
            });
            if (!again.machine) continue;
            earlier.verdict = again;
            if (earlier.written) machineLater.push({ id: earlier.id, reason: again.reason ?? "click_burst" });
            else if (earlier.row) {
              earlier.row.machine = 1;
              earlier.row.machine_reason = again.reason ?? null;
            }
          }
        }
        recent.push(entry);
        this.#recent.set(key, recent);
      }
      if (rows.length === 0 && machineLater.length === 0) return;
      await this.batcher.write(
        async (trx) => {
          await insertEngagements(trx, rows);
          for (const m of machineLater) await markMachine(trx, m.id, m.reason);
        },
        { background: true },
      );
      for (const list of this.#recent.values()) {
        for (const r of list) {
          r.written = true;
          r.row = undefined;
        }
      }
      this.stats.recorded += rows.length;
    } catch (error) {
      this.stats.failed += hits.length;
      this.options.onError?.(error);
    }
  }

  /** Drops what the burst rule no longer needs, and everything if too many recipients are remembered. */
  #forget(now: number): void {
    if (this.#recent.size > MAX_RECENT_KEYS) this.#recent.clear();
    for (const [key, list] of this.#recent) {
      const kept = list.filter((r) => now - r.at < RECENT_MS);
      if (kept.length === 0) this.#recent.delete(key);
      else if (kept.length !== list.length) this.#recent.set(key, kept);
    }
  }
}
