// The outbox: an event's deliveries are inserted in the same transaction as the email state
// change they report, so an event is delivered if and only if its change committed, and the
// sending path never waits on a receiver. Only tenants with an active endpoint subscribed to
// the event pay for it; which tenants those are is cached briefly, so the hot path does not
// query endpoints for every email. (Read through the transaction: on SQLite it holds the one
// connection, so a read outside it would wait for it.)
import type { Kysely } from "kysely";
import type { Database } from "../db";
import { newId } from "../ids";
import { selectActiveSubscriptions } from "./endpoint-store";
import { parseEvents } from "./endpoints";
import type { EmailEventType } from "./events";

/** Another instance's endpoint change is seen within this time (this one's at once). */
export const SUBSCRIPTION_CACHE_MS = 1_000;
const MAX_CACHED_TENANTS = 10_000;

interface Subscription {
  endpointId: string;
  events: ReadonlySet<string>;
}

export class WebhookOutbox {
  readonly #cache = new Map<string, { at: number; subs: Promise<Subscription[]> }>();
  #enqueuedSinceTaken = false;

  /** The tenant's changed endpoints are read again on the next event. */
  invalidate(tenantId: string): void {
    this.#cache.delete(tenantId);
  }

  /**
   * Inside a write unit: queues one delivery per active endpoint of the tenant that takes
   * `type`. `payload` is built only when someone listens. Answers how many were queued.
   */
  async enqueue(
    trx: Kysely<Database>,
    event: { tenantId: string; type: EmailEventType; emailId: string | null; at: number; payload: () => unknown },
  ): Promise<number> {
    const subs = await this.#subscriptions(trx, event.tenantId);
    if (subs.length === 0) return 0;
    const targets = subs.filter((s) => s.events.has(event.type));
    if (targets.length === 0) return 0;
    const body = JSON.stringify(event.payload());
    await trx
      .insertInto("webhook_deliveries")
      .values(
        targets.map((t) => ({
          id: newId("whd", event.at),
          endpoint_id: t.endpointId,
          tenant_id: event.tenantId,
          event_type: event.type,
          email_id: event.emailId,
          payload: body,
          status: "pending" as const,
          run_at: event.at,
          created_at: event.at,
          updated_at: event.at,
        })),
      )
      .execute();
    this.#enqueuedSinceTaken = true;
    return targets.length;
  }

  /** True once after deliveries were queued (by a unit that may since have committed): time to wake the sender. */
  takeEnqueued(): boolean {
    const was = this.#enqueuedSinceTaken;
    this.#enqueuedSinceTaken = false;
    return was;
  }

  #subscriptions(trx: Kysely<Database>, tenantId: string): Promise<Subscription[]> {
    const hit = this.#cache.get(tenantId);
    if (hit && Date.now() - hit.at < SUBSCRIPTION_CACHE_MS) return hit.subs;
    const subs = selectActiveSubscriptions(trx, tenantId).then((rows) =>
      rows.map((r) => ({ endpointId: r.id, events: new Set(parseEvents(r.events_json)) })),
    );
    if (this.#cache.size >= MAX_CACHED_TENANTS) this.#cache.clear();
    this.#cache.set(tenantId, { at: Date.now(), subs });
    subs.catch(() => this.#cache.delete(tenantId));
    return subs;
  }
}
