// Uploads that no email references expire (POSTHORN_ATTACHMENT_TTL) and are deleted here, with
// any stored bytes no attachment uses any more. Once an hour, on one instance: the delete is
// idempotent, but there is no point in every instance repeating it.
import { pruneExpiredAttachments } from "../../attachments";
import type { Db } from "../../db";
import type { Logger } from "../../logger";
import { HOUR_MS } from "../../time-windows";
import type { Scheduler } from "../scheduler";

export const PRUNE_ATTACHMENTS_JOB = "prune-expired-attachments";

export function schedulePruneAttachments(scheduler: Scheduler, db: Db, log: Logger): Scheduler {
  return scheduler.every(
    PRUNE_ATTACHMENTS_JOB,
    { windowMs: HOUR_MS },
    async ({ now }) => {
      const pruned = await pruneExpiredAttachments(db.kysely, now);
      if (pruned > 0) log.info("deleted expired attachments no email used", { job: PRUNE_ATTACHMENTS_JOB, pruned });
    },
    { once: true },
  );
}
