// Cancelling: only while nothing has been handed to SMTP (scheduled or queued).
import type { Kysely } from "kysely";
import type { Database, WriteBatcher } from "../db";
import { type EmailEvents, SNAPSHOT_COLUMNS } from "../email-events";
import { conflict } from "../errors";
import { cancelWaitingEmails } from "../queue";
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
    const [r] = await cancelWaitingEmails(trx, { tenantId, emailId: id, apiKeyId: sentWithKey }, now, SNAPSHOT_COLUMNS);
    if (r) await deps.events.writeCancelled(trx, r);
    return r ? 1 : 0;
  });
  if (changed > 0) deps.events.afterCancel();
  // getEmail's own 404 for an email that is not there (or not this key's); a database that does not answer stays a 503.
  const email = await getEmail(deps.db.kysely, tenantId, id, sentWithKey);
  if (changed === 0 && email.status !== "cancelled") {
    throw conflict(`The email is ${email.status}; only scheduled or queued emails can be cancelled.`);
  }
  return email;
}
