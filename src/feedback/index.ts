// Delivery feedback: what comes back about mail already sent (DSNs, ARF complaints, auto-replies,
// old servers' bounce texts) and the signed return path that ties it to an email and recipient.
// Other modules import only from here.

export type { FeedbackReport } from "./arf";
export type { DeliveryStatus, RecipientOutcome, RecipientReport } from "./dsn";
export type { OriginalMessage } from "./original";
export {
  type FeedbackCommon,
  type FeedbackMessage,
  type FeedbackOptions,
  MAX_FEEDBACK_BYTES,
  MAX_HEADER_BYTES,
  MAX_MIME_PARTS,
  parseFeedbackMessage,
  type ReturnPathMatch,
} from "./reports";
export {
  MAX_RECIPIENT_INDEX,
  MAX_RETURN_PATH_PREFIX,
  type ReturnPathClaim,
  type ReturnPathTarget,
  readReturnPath,
  recipientOfClaim,
  returnPathFor,
  returnPathProblem,
} from "./return-path";
export type { TextBounceFormat } from "./text-bounce";
