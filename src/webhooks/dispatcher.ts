// Sends queued webhook deliveries: claims due ones in batches (leased, SKIP LOCKED on
// Postgres), POSTs each with a bounded timeout, and schedules retries with exponential
// backoff. It shares nothing with the email dispatcher but the database, so a slow or dead
// receiver only ever occupies this loop's own slots; and those are shared fairly between
// tenants (src/queue/fair-shares.ts): a tenant below its share may claim even while another's
// slow receiver holds them all, and one tenant alone gets every slot. Woken in memory when this
// process queued an event; otherwise it polls (other instances, due retries).
import { randomChars } from "../ids";
import type { Logger } from "../logger";
import { fairPlan, WakeUp } from "../queue";
import { attemptDelivery, type DeliverDeps } from "./deliver";
import { anyDeliveryDue, claimDueDeliveries } from "./delivery-store";

/** A claim outlives the POST's timeout by this much before another worker may take it. */
const LEASE_MARGIN_MS = 30_000;
/** With every slot taken, newly queued deliveries are looked for at most this often. */
const LOOK_AROUND_MS = 5;

export type WebhookDispatcherDeps = DeliverDeps & {
  config: DeliverDeps["config"] & { webhookConcurrency: number; pollIntervalMs: number; shutdownGraceMs: number };
};

export class WebhookDispatcher {
  readonly #deps: WebhookDispatcherDeps;
  readonly #log: Logger;
  #inFlight = 0;
  /** The same, per tenant: what its share of the slots is measured against. */
  readonly #inFlightByTenant = new Map<string, number>();
  /** Deliveries were queued here since the last claim. */
  #newWork = false;
  #lastClaimAt = 0;
  /** Rotates which tenant a claim offers first. */
  #turn = 0;
  #stopping = false;
  #loop: Promise<void> | undefined;
  readonly #wakeUp = new WakeUp();

  constructor(deps: WebhookDispatcherDeps) {
    this.#log = deps.log.child({ component: "webhooks" });
    this.#deps = { ...deps, log: this.#log };
  }

  start(): void {
    if (this.#loop) return;
    this.#stopping = false;
    this.#loop = this.#run();
  }

  /** Deliveries were queued (or became due): look for them now. */
  nudge(): void {
    this.#newWork = true;
    this.#wakeUp.nudge();
  }

  /** Stops claiming and waits (up to the grace) for POSTs in flight; unfinished ones come due again when their lease ends. */
  async stop(graceMs = this.#deps.config.shutdownGraceMs): Promise<void> {
    this.#stopping = true;
    this.nudge();
    await this.#loop;
    const deadline = Date.now() + graceMs;
    while (this.#inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    this.#loop = undefined;
  }

  async #run(): Promise<void> {
    const { config } = this.#deps;
    const slots = config.webhookConcurrency;
    while (!this.#stopping) {
      const room = slots - this.#inFlight;
      // With every slot taken, only a tenant below its share may claim: look when deliveries
      // were queued here, or once per poll interval.
      const sinceClaim = Date.now() - this.#lastClaimAt;
      const lookAround = (this.#newWork && sinceClaim >= LOOK_AROUND_MS) || sinceClaim >= config.pollIntervalMs;
      if (room <= 0 && !lookAround) {
        await this.#wakeUp.sleep(this.#newWork ? LOOK_AROUND_MS : config.pollIntervalMs);
        continue;
      }
      this.#newWork = false;
      this.#lastClaimAt = Date.now();
      const now = Date.now();
      const token = randomChars(20);
      let rows: Awaited<ReturnType<typeof claimDueDeliveries>> = [];
      try {
        if (await anyDeliveryDue(this.#deps.db.kysely, now)) {
          rows = await claimDueDeliveries(this.#deps.db, this.#deps.batcher, {
            plan: (due) => fairPlan(due, { slots, busyOf: this.#inFlightByTenant, free: room, batch: slots }),
            leaseMs: config.webhookTimeoutMs + LEASE_MARGIN_MS,
            token,
            now,
            turn: this.#turn++,
          });
        }
      } catch (err) {
        this.#log.error("claiming webhook deliveries failed; retrying", { err });
      }
      if (rows.length === 0) {
        await this.#wakeUp.sleep(config.pollIntervalMs);
        continue;
      }
      this.#inFlight += rows.length;
      for (const row of rows) {
        const tenant = row.tenant_id;
        this.#inFlightByTenant.set(tenant, (this.#inFlightByTenant.get(tenant) ?? 0) + 1);
        void attemptDelivery(this.#deps, row, token)
          .catch((err) => this.#log.error("webhook delivery failed unexpectedly", { err, delivery_id: row.id }))
          .finally(() => {
            this.#inFlight--;
            const left = (this.#inFlightByTenant.get(tenant) ?? 1) - 1;
            if (left <= 0) this.#inFlightByTenant.delete(tenant);
            else this.#inFlightByTenant.set(tenant, left);
            this.#wakeUp.nudge();
          });
      }
    }
  }
}
