// Delivery feedback: what comes back about mail already sent (DSNs, ARF complaints, auto-replies,
// old servers' bounce texts) and the signed return path that ties it to an email and recipient.
// Other modules import only from here.
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
