// Uploads that no email came to reference are deleted once they expire; so are the bytes no
// attachment uses any more. Attachments of emails stay as long as their emails do.
import type { Kysely } from "kysely";
import type { Database } from "../db";
import { deleteAttachmentRows, selectExpiredUnreferenced } from "./store";

/** Deleted per transaction: keeps each one short, so sends and accepts are not held up behind it. */
const PRUNE_CHUNK = 500;

/** Deletes expired, unreferenced attachments; answers how many. */
export async function pruneExpiredAttachments(db: Kysely<Database>, now = Date.now()): Promise<number> {
  let pruned = 0;
  for (;;) {
    const done = await db.transaction().execute(async (trx) => {
      const rows = await selectExpiredUnreferenced(trx, now, PRUNE_CHUNK);
      await deleteAttachmentRows(trx, rows);
      pruned += rows.length;
      return rows.length < PRUNE_CHUNK;
    });
    if (done) return pruned;
  }
}
