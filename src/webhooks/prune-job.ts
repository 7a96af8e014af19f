// Finished deliveries and their attempt log are kept for POSTHORN_WEBHOOK_LOG_RETENTION (30
// days by default) and then deleted, once an hour on one instance.
import type { Config } from "../config";
import type { WriteBatcher } from "../db";
import type { Logger } from "../logger";
import type { Scheduler } from "../scheduler";
import { HOUR_MS } from "../time-windows";
import { pruneFinishedDeliveries } from "./delivery-store";

export const PRUNE_WEBHOOK_LOG_JOB = "prune-webhook-deliveries";

export function scheduleWebhookLogPruning(
  scheduler: Scheduler,
  deps: { batcher: WriteBatcher; config: Pick<Config, "webhookLogRetentionMs">; log: Logger },
): Scheduler {
  return scheduler.every(
    PRUNE_WEBHOOK_LOG_JOB,
    { windowMs: HOUR_MS },
    async ({ now }) => {
      const pruned = await pruneFinishedDeliveries(deps.batcher, now - deps.config.webhookLogRetentionMs);
      if (pruned > 0) deps.log.info("pruned old webhook deliveries", { job: PRUNE_WEBHOOK_LOG_JOB, pruned });
    },
    { once: true },
  );
}
