// The queue's recurring work. Promoting due scheduled emails and rescuing expired leases are
// idempotent, so every instance runs them on every tick (a dead instance's emails come back
// within seconds whoever notices). Resetting the send counters runs once per hour across
// instances; limits never depended on it (counters are windowed), it only keeps the stored
// figures tidy for readers.

import type { WriteBatcher } from "../../db";
import type { Logger } from "../../logger";
import type { QueueSignals } from "../../queue";
import { promoteDueScheduled, rescueExpiredLeases } from "../../queue";
import { resetStaleSendCounters } from "../../smtp-accounts";
import { HOUR_MS, SECOND_MS } from "../../time-windows";
import type { Scheduler } from "../scheduler";

export const PROMOTE_SCHEDULED_JOB = "promote-scheduled-emails";
export const RESCUE_LEASES_JOB = "rescue-expired-leases";
export const RESET_COUNTERS_JOB = "reset-send-counters";

const RESCUE_EVERY_MS = 5 * SECOND_MS;

export function scheduleQueueJobs(
  scheduler: Scheduler,
  deps: { batcher: WriteBatcher; log: Logger; signals: QueueSignals },
): Scheduler {
  return scheduler
    .every(
      PROMOTE_SCHEDULED_JOB,
      { windowMs: SECOND_MS },
      async ({ now }) => {
        if ((await promoteDueScheduled(deps.batcher, now)) > 0) deps.signals.emailQueued();
      },
      { once: false },
    )
    .every(
      RESCUE_LEASES_JOB,
      { windowMs: RESCUE_EVERY_MS },
      async ({ now }) => {
        const rescued = await rescueExpiredLeases(deps.batcher, now);
        if (rescued > 0) {
          deps.log.warn("rescued emails whose worker stopped answering", { job: RESCUE_LEASES_JOB, rescued });
          deps.signals.emailQueued();
        }
      },
      { once: false },
    )
    .every(
      RESET_COUNTERS_JOB,
      { windowMs: HOUR_MS },
      async ({ now }) => {
        await deps.batcher.write((trx) => resetStaleSendCounters(trx, now));
      },
      { once: true },
    );
}
