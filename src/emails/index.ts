// Emails: accepting (single and batch items), reading, cancelling, and their API shapes.
export { type AcceptDeps, type AcceptResult, acceptEmail, type RecipientState } from "./accept";
export { cancelEmail } from "./cancel";
export { contentContext, resolveContent } from "./content";
export { contentChoiceProblems } from "./content-fields";
export * from "./feedback";
export { checkIdempotencyKey, requestHash } from "./idempotency";
export { EmailListFilters, EmailListItemSchema } from "./list-schemas";
export { NO_TRACKING, type PreparedEmail, prepareEmail, recipientsOf, type TrackingDefaults } from "./prepare-email";
export { quotaHeaders } from "./quota";
export { getEmail, listEmails } from "./read";
export type { EmailRow } from "./resource";
export { AcceptedEmailSchema, EmailSchema } from "./schemas";
export { SendEmailFields, type SendEmailRequest, SendEmailSchema } from "./send-request";
export { storeAccepted } from "./store-accepted";
