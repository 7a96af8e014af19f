// The scheduler's public surface: the framework and the jobs it owns (time windows are src/time-windows.ts).
export { PRUNE_ATTACHMENTS_JOB, schedulePruneAttachments } from "./jobs/prune-attachments";
export {
  PRUNE_IDEMPOTENCY_KEYS_JOB,
  pruneExpiredIdempotencyKeys,
  schedulePruneIdempotencyKeys,
} from "./jobs/prune-idempotency-keys";
export {
  PROMOTE_SCHEDULED_JOB,
  RESCUE_LEASES_JOB,
  RESET_COUNTERS_JOB,
  scheduleQueueJobs,
} from "./jobs/queue-jobs";
export {
  type JobContext,
  type JobFn,
  type JobOptions,
  type JobRun,
  type JobSchedule,
  patternForWindow,
  Scheduler,
  type SchedulerOptions,
  type TickSource,
} from "./scheduler";
