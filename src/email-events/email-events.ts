// What happens to an email, recorded where it happens. Inside the write unit that changes an
// email's state (accept, finishing a claim, cancel) the `write*` methods add the change to the
// hourly statistics and queue its webhook deliveries, so both commit with the change or not at
// all. After that unit committed, the `after*` methods count it in the in-process metrics and
// wake the webhook sender (never before: a unit may be rolled back and run again).
import type { Kysely } from "kysely";
import { allFinished, type Database, type DialectName, type EmailRow, type EmailStatus } from "../db";
import type { Metrics } from "../metrics";
import type { FinishClaim } from "../queue";
import { POSTGRES_ROLLUP_SHARDS, type RollupChange, type RollupCounter, recordRollup, recordRollups } from "../stats";
import {
  type EmailEventType,
  type EmailSnapshot,
  type EventFeedback,
  type EventRecipient,
  emailEventPayload,
  WebhookOutbox,
} from "../webhooks";

const FINAL: readonly EmailStatus[] = ["sent", "failed", "suppressed", "cancelled"];

/** The webhook event of each kind of feedback (a soft bounce is an email.bounced of type soft_bounced). */
const FEEDBACK_EVENTS: Record<EventFeedback["type"], EmailEventType> = {
  bounced: "email.bounced",
  soft_bounced: "email.bounced",
  complained: "email.complained",
  delayed: "email.delivery_delayed",
  delivered: "email.delivered",
};

export class EmailEvents {
  readonly outbox = new WebhookOutbox();
  readonly #webhooksQueued = new Set<() => void>();

  readonly #shards: number;
  /** Where this process's gathered accept flushes start among the shards (instances differ). */
  readonly #slotOffset: number;

  constructor(
    private readonly metrics: Metrics,
    dialect: DialectName,
  ) {
    this.#shards = dialect === "postgres" ? POSTGRES_ROLLUP_SHARDS : 1;
    this.#slotOffset = Math.floor(Math.random() * this.#shards);
  }

  /** The rollup shard a change goes to (rollups.ts says why Postgres spreads them). */
  #shard(): number {
    return this.#shards === 1 ? 0 : Math.floor(Math.random() * this.#shards);
  }

  /**
   * The shard of a gathered accept flush: one per flush slot, so the flushes of one process
   * in flight at once never wait on each other's rollup rows (and a flush locks one shard of a
   * row, never two in some order).
   */
  #shardOfSlot(slot: number): number {
    return (this.#slotOffset + slot) % this.#shards;
  }

  /**
   * In the accept unit, after the emails' rows are written: one rollup statement for them all,
   * on one shard — a gathered flush's own (`flush.slot`), else one picked at random — so a
   * transaction locks one shard of a row, never two in some order.
   */
  async writeAccepted(trx: Kysely<Database>, accepted: AcceptedEmail[], flush?: { slot: number }): Promise<void> {
    const emails = accepted.map(acceptedSnapshot);
    const shard = flush ? this.#shardOfSlot(flush.slot) : this.#shard();
    // The rollup statement is issued before anything is awaited: on a pipelined transaction
    // statements run in the order issued, and the caller counts on the rollups' place in it.
    const rollups = recordRollups(
      trx,
      emails.map((email) => acceptedRollup(email, shard)),
    );
    const deliveries = Promise.all(emails.map((email) => this.#enqueueAccepted(trx, email)));
    await Promise.all([rollups, deliveries]);
  }

  #enqueueAccepted(trx: Kysely<Database>, email: EmailSnapshot): Promise<number> {
    const type = email.status === "suppressed" ? "email.suppressed" : "email.queued";
    return this.#enqueue(trx, type, email, email.createdAt);
  }

  /**
   * The rollup shard for a send outcome, picked before its unit is submitted: the unit's lock
   * order includes it, so gathered outcome transactions lock a row's shards in one order.
   */
  outcomeShard(): number {
    return this.#shard();
  }

  /**
   * In the unit that wrote a claim's outcome (only when finishClaim kept it), on the shard
   * `outcomeShard()` gave. The rollup and the webhook rows are issued together, the rollup first.
   */
  async writeFinished(trx: Kysely<Database>, row: EmailRow, finish: FinishClaim, shard: number): Promise<void> {
    const rollup = recordRollup(trx, this.#finishedRollup(row, finish, shard));
    await allFinished([rollup, this.#enqueueFinished(trx, row, finish)]);
  }

  /** The statistics and webhook rows of outcomes written together: one rollup statement for all. */
  async writeFinishedTogether(
    trx: Kysely<Database>,
    finished: readonly { row: EmailRow; outcome: FinishClaim; shard: number }[],
  ): Promise<void> {
    if (finished.length === 0) return;
    const rollups = recordRollups(
      trx,
      finished.map((f) => this.#finishedRollup(f.row, f.outcome, f.shard)),
    );
    await allFinished([rollups, ...finished.map((f) => this.#enqueueFinished(trx, f.row, f.outcome))]);
  }

  /** The statistics an outcome adds (several go in one statement when outcomes are written together). */
  #finishedRollup(row: EmailRow, finish: FinishClaim, shard: number): RollupChange {
    const e = finish.email;
    const counts: Partial<Record<RollupCounter, number>> = {};
    if (FINAL.includes(e.status)) counts[e.status as RollupCounter] = 1;
    if (finish.attempt?.outcome === "deferred") counts.deferred = 1;
    return {
      tenantId: row.tenant_id,
      at: finish.now,
      smtpAccountId: e.smtpAccountId,
      tags: JSON.parse(row.tags_json) as string[],
      counts,
      shard,
      // From the moment it was due (acceptance, or its scheduled time) to its first 250.
      ...(e.status === "sent" ? { latencyMs: (e.sentAt ?? finish.now) - (row.scheduled_at ?? row.created_at) } : {}),
    };
  }

  /** The webhook rows an outcome queues (none when it is only a hold, or nobody subscribed). */
  async #enqueueFinished(trx: Kysely<Database>, row: EmailRow, finish: FinishClaim): Promise<void> {
    const e = finish.email;
    const type = eventOf(finish);
    if (!type) return;
    await this.#enqueue(
      trx,
      type,
      {
        ...snapshotOf(row, JSON.parse(row.tags_json) as string[]),
        status: e.status,
        recipients: JSON.parse(e.recipientsJson),
        smtpAccountId: e.smtpAccountId,
        attempts: row.attempts + (e.countsAsAttempt ? 1 : 0),
        sentAt: e.sentAt,
        completedAt: e.completedAt,
        nextAttemptAt: e.status === "queued" ? e.runAt : null,
        reason: e.lastError ?? e.waitReason,
      },
      finish.now,
    );
  }

  /** In the cancel unit, with the row as the cancel left it. */
  async writeCancelled(trx: Kysely<Database>, row: SnapshotRow): Promise<void> {
    const tags = JSON.parse(row.tags_json) as string[];
    const at = row.completed_at ?? row.updated_at;
    await recordRollup(trx, {
      tenantId: row.tenant_id,
      at,
      smtpAccountId: null,
      tags,
      counts: { cancelled: 1 },
      shard: this.#shard(),
    });
    await this.#enqueue(trx, "email.cancelled", snapshotOf(row, tags), at);
  }

  /**
   * In the unit that recorded what came back about one recipient (a DSN, a complaint): the
   * email's webhook event, with the feedback, commits with the record or not at all.
   */
  async writeFeedback(
    trx: Kysely<Database>,
    tenantId: string,
    emailId: string,
    feedback: EventFeedback,
  ): Promise<void> {
    const row = await trx
      .selectFrom("emails")
      .select(SNAPSHOT_COLUMNS)
      .where("id", "=", emailId)
      .where("tenant_id", "=", tenantId)
      .executeTakeFirst();
    if (!row) return;
    await this.#enqueue(trx, FEEDBACK_EVENTS[feedback.type], { ...snapshotOf(row), feedback }, feedback.at);
  }

  /** After a unit that recorded an inbound message (and the feedback it newly told) committed. */
  afterFeedback(matched: boolean, recorded: readonly EventFeedback["type"][]): void {
    this.metrics.inboundMessages.inc({ matched: String(matched) });
    for (const type of recorded) this.metrics.feedbackRecorded.inc({ type });
    this.#wakeWebhooks();
  }

  /** After the accept unit committed. */
  afterAccept(status: EmailStatus): void {
    this.metrics.emailsAccepted.inc();
    if (status === "suppressed") this.metrics.emailsFinished.inc({ status });
    this.#wakeWebhooks();
  }

  /** After a claim's outcome committed (and was kept). */
  afterFinish(finish: FinishClaim): void {
    if (FINAL.includes(finish.email.status)) this.metrics.emailsFinished.inc({ status: finish.email.status });
    if (finish.attempt) {
      const a = finish.attempt;
      this.metrics.smtpAttempt(a.smtpAccountId, a.outcome, a.durationMs);
    }
    this.#wakeWebhooks();
  }

  /** After a cancel committed. */
  afterCancel(): void {
    this.metrics.emailsFinished.inc({ status: "cancelled" });
    this.#wakeWebhooks();
  }

  /** Called when deliveries were queued and committed (the webhook dispatcher's nudge). */
  onWebhooksQueued(fn: () => void): () => void {
    this.#webhooksQueued.add(fn);
    return () => this.#webhooksQueued.delete(fn);
  }

  #wakeWebhooks(): void {
    if (!this.outbox.takeEnqueued()) return;
    for (const fn of this.#webhooksQueued) fn();
  }

  #enqueue(trx: Kysely<Database>, type: EmailEventType, email: EmailSnapshot, at: number): Promise<number> {
    return this.outbox.enqueue(trx, {
      tenantId: email.tenantId,
      type,
      emailId: email.id,
      at,
      payload: () => emailEventPayload(type, email, at),
    });
  }
}

/** The event a claim's outcome is: final states, or a retry after an attempt; a hold is none. */
function eventOf(finish: FinishClaim): EmailEventType | undefined {
  const s = finish.email.status;
  if (s === "sent" || s === "failed" || s === "suppressed") return `email.${s}`;
  if (s === "queued" && finish.email.countsAsAttempt) return "email.deferred";
  return undefined;
}

/** What the accept path knows of an email it is writing. */
export interface AcceptedEmail {
  id: string;
  tenantId: string;
  status: EmailStatus;
  req: {
    from?: { email: string };
    subject?: string;
    metadata?: Record<string, string>;
    smtp_account_id?: string;
  };
  recipients: EventRecipient[];
  tags: string[];
  now: number;
  scheduledAt: number | null;
  waitReason: string | null;
  /** The subject as sent, when it is not the request's own (rendered from a template). */
  subject?: string;
}

function acceptedRollup(email: EmailSnapshot, shard: number): RollupChange {
  const suppressed = email.status === "suppressed";
  return {
    tenantId: email.tenantId,
    at: email.createdAt,
    smtpAccountId: null,
    tags: email.tags,
    counts: suppressed ? { accepted: 1, suppressed: 1 } : { accepted: 1 },
    shard,
  };
}

function acceptedSnapshot(a: AcceptedEmail): EmailSnapshot {
  return {
    id: a.id,
    tenantId: a.tenantId,
    status: a.status,
    fromEmail: a.req.from?.email ?? null,
    subject: a.subject ?? a.req.subject ?? "",
    recipients: a.recipients,
    tags: a.tags,
    metadata: a.req.metadata ?? {},
    smtpAccountId: a.req.smtp_account_id ?? null,
    attempts: 0,
    createdAt: a.now,
    scheduledAt: a.scheduledAt,
    sentAt: null,
    completedAt: a.status === "suppressed" ? a.now : null,
    nextAttemptAt: null,
    reason: a.waitReason,
  };
}

/** What an event reads of an email: never its bodies (a batch cancel need not load 1,000 of them). */
export const SNAPSHOT_COLUMNS = [
  "id",
  "tenant_id",
  "status",
  "from_email",
  "subject",
  "recipients_json",
  "tags_json",
  "metadata_json",
  "smtp_account_id",
  "pinned_smtp_account_id",
  "attempts",
  "created_at",
  "updated_at",
  "scheduled_at",
  "sent_at",
  "completed_at",
  "last_error",
] as const satisfies readonly (keyof EmailRow)[];

export type SnapshotRow = Pick<EmailRow, (typeof SNAPSHOT_COLUMNS)[number]>;

/** An email row as an event tells of it. */
export function snapshotOf(row: SnapshotRow, tags = JSON.parse(row.tags_json) as string[]): EmailSnapshot {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    status: row.status,
    fromEmail: row.from_email,
    subject: row.subject,
    recipients: JSON.parse(row.recipients_json),
    tags,
    metadata: JSON.parse(row.metadata_json),
    smtpAccountId: row.smtp_account_id ?? row.pinned_smtp_account_id,
    attempts: row.attempts,
    createdAt: row.created_at,
    scheduledAt: row.scheduled_at,
    sentAt: row.sent_at,
    completedAt: row.completed_at,
    nextAttemptAt: null,
    reason: row.last_error,
  };
}
