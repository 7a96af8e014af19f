// Engagement: the opens and clicks of tracked emails, recorded from the tracking endpoints
// (gathered, best-effort) and read back per email. The tokens, the rewrite and the verdict on
// machines are src/tracking's; this module is their database side.
import type { AppDeps } from "../deps";
import { EngagementRecorder } from "./recorder";

export { emailIdTime, MAX_TRACKED_AGE_MS, stillTracked } from "./age";
export {
  EngagementRecorder,
  GATHER_MS,
  type Hit,
  MAX_HITS_PER_FLUSH,
  MAX_PENDING_HITS,
  MAX_USER_AGENT,
  type RecorderOptions,
  type RecorderStats,
} from "./recorder";
export { tenantTrackingDefaults } from "./sql";
export { type EmailEngagement, EmailEngagementSchema, getEmailEngagement } from "./summary";

const recorders = new WeakMap<AppDeps, EngagementRecorder>();

/** The one recorder of a running service (made on first use), so shutdown and tests can flush it. */
export function engagementRecorder(deps: AppDeps): EngagementRecorder {
  let recorder = recorders.get(deps);
  if (!recorder) {
    recorder = new EngagementRecorder(deps.db, deps.batcher, {
      storeIp: deps.config.trackingStoreIp,
      onError: (err) => deps.log.warn("tracking hits not recorded", { err }),
      onDropped: (count) => deps.log.warn("tracking hits dropped: too many waiting to be written", { count }),
    });
    recorders.set(deps, recorder);
  }
  return recorder;
}
