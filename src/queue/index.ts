// The email queue's face: claiming due mail fairly, leases and fencing, finishing a claim, the
// job-state changes of waiting mail, instances, and the in-memory signals that wake the dispatcher.
export { type ClaimedEmail, claimDueEmails } from "./claim-due-emails";
export { type ClaimPlan, claimRoundRobin, fairPlan, fairShare, interleave } from "./fair-shares";
export { type FinishClaim, finishClaim } from "./finish-claim";
export { type FinishedOutcome, finishClaimsTogether } from "./finish-claims-together";
export { startInstance } from "./instances";
export { extendLeases, promoteDueScheduled, releaseHeldEmails, releaseLeases, rescueExpiredLeases } from "./leases";
export { QueueSignals } from "./signals";
export { cancelWaitingEmails, HELD_FOREVER, holdWaitingEmails, releasePausedEmails } from "./waiting-emails";
export { WakeUp } from "./wake-up";
