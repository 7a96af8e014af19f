// The manager that owns the send loop: claims due emails in batches into a bounded set of
// in-flight sends, delivers each (deliver-email.ts), and writes the outcome fenced by the
// claim's lease token. Slots are shared fairly between tenants (src/queue/fair-shares.ts): a
// tenant below its share may claim even while another's slow server holds every slot, so one
// tenant's backlog or tarpit never delays another's mail; one tenant alone gets every slot.
// Within a tenant, each account's sends in flight are bounded (account-slots.ts), so a tarpit
// account never holds the slots its other accounts could send with. One heartbeat extends every
// lease this process holds. Woken in memory when this process queues something; otherwise it
// polls (other instances, due retries).

import type { BulkWriter } from "../db";
import type { AppDeps } from "../deps";
import type { EmailRow, RecipientState } from "../emails";
import { randomChars } from "../ids";
import type { Logger } from "../logger";
import {
  type ClaimedEmail,
  claimDueEmails,
  extendLeases,
  type FinishedOutcome,
  fairPlan,
  fairShare,
  finishClaim,
  finishClaimsTogether,
  releaseHeldEmails,
  releaseLeases,
  WakeUp,
} from "../queue";
import { listSendableAccounts, type SendableAccount, withTenantBounceDomain } from "../smtp-accounts";
import { suppressedAmong } from "../suppressions";
import { TenantCache } from "../tenant-cache";
import { tenantBounceDomain } from "../tenants";
import { AccountHealth } from "./account-health";
import { SmtpAccountPool, type SmtpSender } from "./account-pool";
import { AccountSlots } from "./account-slots";
import { type DeliveryDeps, deliverEmail } from "./deliver-email";
import { SmtpSendThreads } from "./send-threads";

/** A tenant's accounts are re-read at most this often (or at once when they change here). */
const ACCOUNT_CACHE_MS = 1_000;
/**
 * With every slot taken, new mail is looked for at most this often (a claim each time): a
 * tenant below its share may claim then, and its email should not wait for the next poll.
 */
const LOOK_AROUND_MS = 5;

export type DispatcherDeps = Pick<AppDeps, "db" | "batcher" | "config" | "log" | "secrets" | "signals" | "events">;

export class Dispatcher {
  readonly #deps: DispatcherDeps;
  /** Starts every lease token: the instance's id (src/queue/instances.ts), so a successor finds its leases. */
  readonly #leaseTokenPrefix: string;
  readonly #log: Logger;
  readonly #sender: SmtpSender;
  /** Postgres writes a flush's outcomes together (finish-claims-together.ts). */
  readonly #finishTogether: BulkWriter<FinishedOutcome, boolean>;
  readonly #health = new AccountHealth();
  /** A tenant's share of the slots among the tenants sending now is what its accounts' bounds divide. */
  readonly #accountSlots = new AccountSlots(() =>
    fairShare(this.#deps.config.dispatchConcurrency, this.#sendingByTenant.size),
  );
  readonly #accounts: TenantCache<SendableAccount[]>;
  /** Lease token → emails of that claim not yet finished (leases the heartbeat keeps alive). */
  readonly #inFlightByToken = new Map<string, number>();
  /** Claimed emails not yet finished: being sent, or their outcome waiting for its commit. */
  #inFlight = 0;
  /** Claimed emails whose SMTP send is under way. */
  #sending = 0;
  /** The same, per tenant: what its share of the slots is measured against. */
  readonly #sendingByTenant = new Map<string, number>();
  /** Body bytes of the claimed emails not yet finished (bounded by config.claimMaxBytes). */
  #inFlightBytes = 0;
  /** This process queued mail (or released some) since the last claim. */
  #newWork = false;
  #lastClaimAt = 0;
  /** Rotates which tenant a claim offers first. */
  #turn = 0;
  #stopping = false;
  #loop: Promise<void> | undefined;
  readonly #wakeUp = new WakeUp();
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  readonly #unsubscribe: (() => void)[] = [];
  /** Emails finished by this process, by final outcome; for tests, benchmarks and metrics. */
  readonly stats = { claimed: 0, finished: 0, leaseLost: 0 };

  constructor(deps: DispatcherDeps, opts: { leaseTokenPrefix?: string } = {}) {
    this.#leaseTokenPrefix = opts.leaseTokenPrefix ?? "";
    this.#deps = deps;
    this.#log = deps.log.child({ component: "dispatcher" });
    this.#accounts = new TenantCache(ACCOUNT_CACHE_MS, async (tenantId) => {
      const [accounts, tenantDefault] = await Promise.all([
        listSendableAccounts(deps.db, deps.secrets, tenantId),
        tenantBounceDomain(deps.db.kysely, tenantId),
      ]);
      return withTenantBounceDomain(accounts, tenantDefault);
    });
    this.#finishTogether = finishClaimsTogether(deps.db.kysely, (trx, kept) =>
      deps.events.writeFinishedTogether(trx, kept),
    );
    const smtp = {
      timeoutMs: deps.config.smtpTimeoutMs,
      tlsRejectUnauthorized: deps.config.smtpTlsRejectUnauthorized,
      allowPrivate: deps.config.smtpAllowPrivate,
    };
    this.#sender =
      deps.config.sendThreads > 0
        ? new SmtpSendThreads(deps.config.sendThreads, smtp, this.#log)
        : new SmtpAccountPool(smtp);
  }

  start(): void {
    if (this.#loop) return;
    this.#accountSlots.open();
    this.#unsubscribe.push(
      this.#deps.signals.onEmailQueued(() => {
        this.#newWork = true;
        this.nudge();
      }),
      this.#deps.signals.onAccountsChanged((tenantId) => void this.#onAccountsChanged(tenantId)),
    );
    const every = Math.max(Math.floor(this.#deps.config.leaseMs / 3), 50);
    this.#heartbeat = setInterval(() => void this.#extendLeases(), every);
    this.#loop = this.#run();
  }

  /** Look for work now (something was queued or released). */
  nudge(): void {
    this.#wakeUp.nudge();
  }

  /**
   * Stops claiming, lets in-flight sends finish for up to `graceMs`, then hands every email
   * still leased by this process back to the queue.
   */
  async stop(graceMs = this.#deps.config.shutdownGraceMs): Promise<void> {
    this.#stopping = true;
    // Emails waiting for an account's send go back to the queue now rather than at the grace's end.
    this.#accountSlots.close();
    this.nudge();
    await this.#loop;
    const deadline = Date.now() + graceMs;
    while (this.#inFlight > 0 && Date.now() < deadline) await sleep(10);
    clearInterval(this.#heartbeat);
    const tokens = [...this.#inFlightByToken.keys()];
    if (tokens.length > 0) {
      const handedBack = await releaseLeases(this.#deps.batcher, tokens);
      this.#log.warn("handed unfinished emails back to the queue", { count: handedBack });
    }
    for (const off of this.#unsubscribe) off();
    await this.#sender.close();
    this.#loop = undefined;
  }

  async #run(): Promise<void> {
    const { config } = this.#deps;
    const slots = config.dispatchConcurrency;
    while (!this.#stopping) {
      // SMTP sends are bounded by the concurrency; outcomes still waiting to be written (they
      // gather to share a commit) by as many again.
      const room = Math.min(slots - this.#sending, 2 * slots - this.#inFlight);
      // Refill in batches: claiming one email per finished send made one commit (an fsync on
      // SQLite) per email. While sends are under way, wait until a quarter of the slots are free.
      const refill = room > 0 && (room >= Math.ceil(slots / 4) || this.#sending === 0);
      // Otherwise look only for tenants below their share, when mail was queued here (or once
      // per poll interval, for mail queued elsewhere).
      const sinceClaim = Date.now() - this.#lastClaimAt;
      const lookAround = (this.#newWork && sinceClaim >= LOOK_AROUND_MS) || sinceClaim >= config.pollIntervalMs;
      if (!refill && !lookAround) {
        await this.#wakeUp.sleep(this.#newWork ? LOOK_AROUND_MS : config.pollIntervalMs);
        continue;
      }
      this.#newWork = false;
      this.#lastClaimAt = Date.now();
      const token = `${this.#leaseTokenPrefix}${randomChars(20)}`;
      let rows: Awaited<ReturnType<typeof claimDueEmails>> = [];
      try {
        rows = await claimDueEmails(this.#deps.db, this.#deps.batcher, {
          plan: (due) =>
            fairPlan(due, {
              slots,
              busyOf: this.#sendingByTenant,
              free: refill ? room : 0,
              batch: config.claimBatchSize,
            }),
          // What the unfinished claims hold counts too; a claim still takes one email when none fits.
          maxBytes: config.claimMaxBytes - this.#inFlightBytes,
          leaseMs: config.leaseMs,
          token,
          turn: this.#turn++,
        });
      } catch (err) {
        this.#log.error("claiming due emails failed; retrying", { err });
        await this.#wakeUp.sleep(config.pollIntervalMs);
        continue;
      }
      if (rows.length === 0) {
        await this.#wakeUp.sleep(config.pollIntervalMs);
        continue;
      }
      this.stats.claimed += rows.length;
      this.#inFlightByToken.set(token, rows.length);
      this.#inFlight += rows.length;
      this.#sending += rows.length;
      for (const row of rows) {
        this.#sendingByTenant.set(row.tenant_id, (this.#sendingByTenant.get(row.tenant_id) ?? 0) + 1);
        this.#inFlightBytes += row.claim_bytes;
      }
      const suppressed = await this.#suppressedIn(rows);
      for (const row of rows) {
        const known = suppressed.get(row.tenant_id);
        if (known) void this.#deliver(row, token, known);
        else {
          // Not sent now: the lease runs out and the scheduler puts the email back.
          this.#doneSending(row);
          this.#letGo(token, row);
        }
      }
    }
  }

  /** Suppressed addresses among a claim batch's pending recipients: one query per tenant. */
  async #suppressedIn(rows: EmailRow[]): Promise<Map<string, Set<string>>> {
    const byTenant = new Map<string, string[]>();
    for (const row of rows) {
      const list = byTenant.get(row.tenant_id) ?? [];
      for (const r of JSON.parse(row.recipients_json) as RecipientState[])
        if (r.status === "pending") list.push(r.email);
      byTenant.set(row.tenant_id, list);
    }
    const out = new Map<string, Set<string>>();
    for (const [tenantId, emails] of byTenant) {
      try {
        out.set(tenantId, await suppressedAmong(this.#deps.db.kysely, tenantId, emails));
      } catch (err) {
        // Sending to a suppressed address is worse than waiting: these emails are not sent now;
        // their lease runs out and the scheduler puts them back.
        this.#log.error("reading suppressions failed; the claimed emails wait for their lease to expire", {
          err,
          tenant_id: tenantId,
        });
      }
    }
    return out;
  }

  async #deliver(row: ClaimedEmail, token: string, suppressed: ReadonlySet<string>): Promise<void> {
    try {
      const outcome = await deliverEmail(this.#deliveryDeps, row, token, suppressed).finally(() =>
        this.#doneSending(row),
      );
      const { events } = this.#deps;
      const shard = events.outcomeShard();
      const kept = await this.#deps.batcher.write(
        // Statistics and webhook events commit with the outcome they describe, or not at all.
        (trx) => finishClaim(this.#deps.db.kysely, trx, outcome, (t) => events.writeFinished(t, row, outcome, shard)),
        {
          background: true,
          lockOrder: `${row.tenant_id} ${outcome.account?.id ?? ""} ${shard}`,
          bulk: { writer: this.#finishTogether, item: { outcome, row, shard } satisfies FinishedOutcome },
        },
      );
      if (kept) {
        this.stats.finished++;
        this.#deps.events.afterFinish(outcome);
        if (outcome.email.status === "queued" && outcome.email.runAt <= Date.now()) this.nudge();
      } else {
        this.stats.leaseLost++;
        this.#log.warn("lease lost before the outcome was written; another worker owns the email now", {
          email_id: row.id,
        });
      }
      if (outcome.attempt) {
        this.#log.info("smtp attempt", {
          email_id: row.id,
          tenant_id: row.tenant_id,
          smtp_account_id: outcome.attempt.smtpAccountId,
          outcome: outcome.attempt.outcome,
          smtp_code: outcome.attempt.smtpCode,
          duration_ms: outcome.attempt.durationMs,
          status: outcome.email.status,
        });
      }
    } catch (err) {
      // The lease expires and the scheduler puts the email back; nothing is lost.
      this.#log.error("delivering an email failed unexpectedly", { err, email_id: row.id });
    } finally {
      this.#letGo(token, row);
    }
  }

  /** The SMTP part of one send is over: its slot may take another email while the outcome waits for its commit. */
  #doneSending(row: EmailRow): void {
    this.#sending--;
    const left = (this.#sendingByTenant.get(row.tenant_id) ?? 1) - 1;
    if (left <= 0) this.#sendingByTenant.delete(row.tenant_id);
    else this.#sendingByTenant.set(row.tenant_id, left);
    this.nudge();
  }

  /** One email of the claim under `token` is no longer this process's concern (its outcome is written, or it was let go). */
  #letGo(token: string, row: ClaimedEmail): void {
    this.#inFlight--;
    this.#inFlightBytes -= row.claim_bytes;
    const left = (this.#inFlightByToken.get(token) ?? 1) - 1;
    if (left <= 0) this.#inFlightByToken.delete(token);
    else this.#inFlightByToken.set(token, left);
    this.nudge();
  }

  get #deliveryDeps(): DeliveryDeps {
    return {
      kysely: this.#deps.db.kysely,
      batcher: this.#deps.batcher,
      config: this.#deps.config,
      secrets: this.#deps.secrets,
      sender: this.#sender,
      health: this.#health,
      accountSlots: this.#accountSlots,
      log: this.#log,
      accountsOf: (tenantId) => this.#accountsOf(tenantId),
    };
  }

  #accountsOf(tenantId: string): Promise<SendableAccount[]> {
    return this.#accounts.get(tenantId);
  }

  /** A new, re-activated or re-limited account may free held emails: they become due now. */
  async #onAccountsChanged(tenantId: string): Promise<void> {
    this.#accounts.invalidate(tenantId);
    this.#newWork = true;
    try {
      const released = await releaseHeldEmails(this.#deps.batcher, tenantId, Date.now(), () => this.nudge());
      if (released > 0) this.#log.info("released held emails", { tenant_id: tenantId, released });
    } catch (err) {
      this.#log.error("releasing held emails failed", { err, tenant_id: tenantId });
    }
    this.nudge();
  }

  async #extendLeases(): Promise<void> {
    const tokens = [...this.#inFlightByToken.keys()];
    if (tokens.length === 0) return;
    try {
      await extendLeases(this.#deps.batcher, tokens, Date.now() + this.#deps.config.leaseMs);
    } catch (err) {
      this.#log.error("extending leases failed", { err });
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
