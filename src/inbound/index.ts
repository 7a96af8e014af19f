// Inbound feedback: messages that come back to the bounce domains (over the SMTP listener now,
// from IMAP mailboxes later), matched to the emails they are about and acted on, each one kept.
export { BOUNCE_DOMAINS_TTL_MS, BounceDomains } from "./bounce-domains";
export {
  INBOUND_SOCKET_TIMEOUT_MS,
  type InboundListener,
  type InboundListenerOptions,
  MAX_INBOUND_RECIPIENTS,
  startInboundListener,
} from "./listener";
export {
  type InboundDeps,
  type InboundInput,
  type InboundResult,
  processInbound,
  RECIPIENT_MATCH_WINDOW_MS,
  SOFT_BOUNCE_WINDOW_MS,
  SOFT_BOUNCES_TO_SUPPRESS,
} from "./process";
export {
  INBOUND_KINDS,
  type InboundMessage,
  type InboundMessageDetail,
  InboundMessageDetailSchema,
  InboundMessageSchema,
} from "./schemas";
export { getInboundMessage, type ListInboundRequest, listInboundMessages } from "./store";
