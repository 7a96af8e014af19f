// An inbound message as the API shows it: what arrived at a bounce domain, what it was, and what it
// changed or why it matched nothing.
import * as v from "valibot";
import { Integer, named, Timestamp } from "../validation";

export const INBOUND_KINDS = ["dsn", "text_bounce", "complaint", "auto_reply", "unknown"] as const;
/** Characters of the message the API returns (the database keeps up to POSTHORN_INBOUND_MAX_BYTES). */
export const INBOUND_RAW_CHARS = 256 * 1024;

const EXAMPLE = {
  id: "inb_01m8vw2c4e7q9h3x5z8b1d4f6k",
  object: "inbound_message" as const,
  received_at: "2026-12-02T17:04:11.520Z",
  source: "smtp" as const,
  envelope_from: "",
  envelope_to: ["bounces+r1m8vv5rm08jhtrpssz9rva8mm0k3d8f2q7w1xz@bounce.example.com"],
  from: "MAILER-DAEMON@relay.example.com (Mail Delivery System)",
  subject: "Undelivered Mail Returned to Sender",
  message_id: "20261202170411.4F2C31A0@relay.example.com",
  kind: "dsn" as const,
  matched: true,
  email_id: "em_01m8vv5rm08jhtrpssz9rva8mm",
  outcome: "hard bounce of ada@example.org recorded (5.1.1); ada@example.org suppressed",
  size_bytes: 4312,
};

const fields = {
  id: v.string(),
  object: v.literal("inbound_message"),
  received_at: Timestamp,
  source: v.pipe(
    v.picklist(["smtp", "imap"]),
    v.description("`smtp`: the inbound listener; `imap`: a bounce mailbox."),
  ),
  envelope_from: v.pipe(v.nullable(v.string()), v.description("MAIL FROM; empty for a DSN (the null sender).")),
  envelope_to: v.pipe(v.array(v.string()), v.description("RCPT TO: the return paths it was sent to.")),
  from: v.nullable(v.string()),
  subject: v.nullable(v.string()),
  message_id: v.pipe(v.nullable(v.string()), v.description("The inbound message's own Message-ID.")),
  kind: v.pipe(
    v.picklist(INBOUND_KINDS),
    v.description(
      "`dsn`: a delivery status notification (RFC 3464); `text_bounce`: an old server's bounce in prose; " +
        "`complaint`: a feedback report (RFC 5965); `auto_reply`: ignored; `unknown`: not a report.",
    ),
  ),
  matched: v.pipe(
    v.boolean(),
    v.description("It was tied to an email this tenant sent, to a recipient it was sent to."),
  ),
  email_id: v.pipe(v.nullable(v.string()), v.description("The email it is about, when matched.")),
  outcome: v.pipe(v.string(), v.description("What it changed, or why it changed nothing, in plain words.")),
  size_bytes: Integer,
};

export const InboundMessageSchema = named("InboundMessage", v.object(fields), EXAMPLE);

export const InboundMessageDetailSchema = named(
  "InboundMessageDetail",
  v.object({
    ...fields,
    raw: v.pipe(
      v.string(),
      v.description(`The message as received (UTF-8), its first ${INBOUND_RAW_CHARS} characters.`),
    ),
    raw_truncated: v.pipe(v.boolean(), v.description("The message was longer than what `raw` shows or what was kept.")),
  }),
  { ...EXAMPLE, raw: "Return-Path: <>\r\nFrom: MAILER-DAEMON@relay.example.com\r\n…", raw_truncated: false },
);

export type InboundMessage = v.InferOutput<typeof InboundMessageSchema>;
export type InboundMessageDetail = v.InferOutput<typeof InboundMessageDetailSchema>;
