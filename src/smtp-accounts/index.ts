// SMTP accounts: a tenant's servers to send through. The module's whole public surface.
export {
  accountBounceDomains,
  createSmtpAccount,
  deleteSmtpAccount,
  getSmtpAccount,
  listSmtpAccounts,
  type SmtpAccountsDeps,
  updateSmtpAccount,
} from "./accounts";
export {
  type LimitHold,
  nextWindowOpening,
  recordSendResult,
  releaseSendSlot,
  reserveSendSlot,
  resetStaleSendCounters,
  type SendResult,
} from "./counters";
export { type DialSettings, dialOptions, withoutForeignGreeting } from "./dial";
export { type DkimSettings, dkimKeyProblem } from "./dkim";
export {
  type AttemptSample,
  accountHealth,
  DEGRADED_BELOW_SUCCESS_RATE,
  FAILING_AFTER_CONSECUTIVE_FAILURES,
  HEALTH_SAMPLE_SIZE,
} from "./health";
export {
  BounceDomainField,
  type CreateSmtpAccountInput,
  CreateSmtpAccountSchema,
  MAX_BOUNCE_DOMAIN,
  storedBounceDomain,
  type UpdateSmtpAccountInput,
  UpdateSmtpAccountSchema,
} from "./input";
export {
  HEALTH_STATUSES,
  type HealthStatus,
  type SmtpAccount,
  type SmtpAccountHealth,
  SmtpAccountHealthSchema,
  SmtpAccountSchema,
  SmtpAccountTestResultSchema,
} from "./schemas";
export {
  fromAllowed,
  listSendableAccounts,
  listSenderIdentities,
  loadSendableAccount,
  SealedPasswordError,
  type SendableAccount,
  type SenderIdentity,
  type TransportSettings,
  transportOptions,
  withTenantBounceDomain,
} from "./sending";
export { checkSmtpConnection, type SmtpCheckResult, type SmtpCheckSettings, testSmtpAccount } from "./verify";
