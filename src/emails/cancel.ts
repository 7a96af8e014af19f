// Cancelling: only while nothing has been handed to SMTP (scheduled or queued).
import type { Kysely } from "kysely";
import type { Database } from "../db/schema";
import type { EmailEvents } from "../email-events";
import { conflict, notFound } from "../errors";
import type { WriteBatcher } from "../queue/write-batcher";
import { getEmail } from "./read";
import type { EmailResource } from "./resource";

export async function cancelEmail(
  deps: { db: { kysely: Kysely<Database> }; batcher: WriteBatcher; events: EmailEvents },
  tenantId: string,
  id: string,
  /** Only an email accepted with this API key (a `sending` key cancels only its own). */
  sentWithKey?: string,
): Promise<EmailResource> {
  const now = Date.now();
  const changed = await deps.batcher.write(async (trx) => {
    const r = await trx
      .updateTable("emails")
      .set({ status: "cancelled", completed_at: now, updated_at: now, hold: null, wait_reason: null })
      .where("id", "=", id)
      .where("tenant_id", "=", tenantId)
      .$if(sentWithKey !== undefined, (qb) => qb.where("api_key_id", "=", sentWithKey!))
      .where("status", "in", ["scheduled", "queued"])
      .returningAll()
      .executeTakeFirst();
    if (r) await deps.events.writeCancelled(trx, r);
    return r ? 1 : 0;
  });
  if (changed > 0) deps.events.afterCancel();
  const email = await getEmail(deps.db.kysely, tenantId, id, sentWithKey).catch(() => {
    throw notFound("email");
  });
  if (changed === 0 && email.status !== "cancelled") {
    throw conflict(`The email is ${email.status}; only scheduled or queued emails can be cancelled.`);
  }
  return email;
}
