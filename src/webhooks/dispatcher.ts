// Sends queued webhook deliveries: claims due ones in batches (leased, SKIP LOCKED on
// Postgres), POSTs each with a bounded timeout, and schedules retries with exponential
// backoff. It shares nothing with the email dispatcher but the database, so a slow or dead
// receiver only ever occupies this loop's own slots. Woken in memory when this process queued
// an event; otherwise it polls (other instances, due retries).
import { randomChars } from "../ids";
import type { Logger } from "../logger";
import { WakeUp } from "../queue/wake-up";
import { attemptDelivery, type DeliverDeps } from "./deliver";
import { anyDeliveryDue, claimDueDeliveries } from "./delivery-store";

/** A claim outlives the POST's timeout by this much before another worker may take it. */
const LEASE_MARGIN_MS = 30_000;

export type WebhookDispatcherDeps = DeliverDeps & {
  config: DeliverDeps["config"] & { webhookConcurrency: number; pollIntervalMs: number; shutdownGraceMs: number };
};

export class WebhookDispatcher {
  readonly #deps: WebhookDispatcherDeps;
  readonly #log: Logger;
  #inFlight = 0;
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

  nudge(): void {
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
    while (!this.#stopping) {
      const room = config.webhookConcurrency - this.#inFlight;
      if (room <= 0) {
        await this.#wakeUp.sleep(config.pollIntervalMs);
        continue;
      }
      const now = Date.now();
      const token = randomChars(20);
      let rows: Awaited<ReturnType<typeof claimDueDeliveries>> = [];
      try {
        if (await anyDeliveryDue(this.#deps.db.kysely, now)) {
          rows = await claimDueDeliveries(this.#deps.db, this.#deps.batcher, {
            limit: room,
            leaseMs: config.webhookTimeoutMs + LEASE_MARGIN_MS,
            token,
            now,
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
        void attemptDelivery(this.#deps, row, token)
          .catch((err) => this.#log.error("webhook delivery failed unexpectedly", { err, delivery_id: row.id }))
          .finally(() => {
            this.#inFlight--;
            this.nudge();
          });
      }
    }
  }
}
