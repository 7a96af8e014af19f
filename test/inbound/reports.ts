// Inbound messages as they arrive at a bounce domain, written out for the specs: a Postfix-like DSN,
// an ARF complaint and an out-of-office reply, each about one email.

export interface About {
  /** The returned original's Message-ID (without brackets) and X-Posthorn-Email-Id, when given. */
  messageId?: string;
  emailId?: string;
}

const returned = (about: About) =>
  [
    "From: Acme <app@example.com>",
    "Subject: Your receipt",
    ...(about.messageId ? [`Message-ID: <${about.messageId}>`] : []),
    ...(about.emailId ? [`X-Posthorn-Email-Id: ${about.emailId}`] : []),
  ].join("\r\n");

export function dsnMessage(opts: {
  recipient: string;
  action: "failed" | "delayed" | "delivered";
  status: string;
  diagnostic?: string;
  about?: About;
  id?: string;
}): Uint8Array {
  const id = opts.id ?? `${Math.random().toString(36).slice(2)}@relay.test`;
  const text = [
    "From: MAILER-DAEMON@relay.test (Mail Delivery System)",
    "To: bounces@bounce.test",
    `Subject: ${opts.action === "delayed" ? "Delayed Mail (still being retried)" : "Undelivered Mail Returned to Sender"}`,
    `Message-ID: <${id}>`,
    "Auto-Submitted: auto-replied",
    "MIME-Version: 1.0",
    'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"',
    "",
    "--b1",
    "Content-Type: text/plain",
    "",
    "This is the mail system at host relay.test.",
    "",
    "--b1",
    "Content-Type: message/delivery-status",
    "",
    "Reporting-MTA: dns; relay.test",
    "",
    `Final-Recipient: rfc822; ${opts.recipient}`,
    `Action: ${opts.action}`,
    `Status: ${opts.status}`,
    "Remote-MTA: dns; mx.example.org",
    `Diagnostic-Code: smtp; ${opts.diagnostic ?? `550 ${opts.status} user unknown`}`,
    "",
    "--b1",
    "Content-Type: text/rfc822-headers",
    "",
    returned(opts.about ?? {}),
    "",
    "--b1--",
    "",
  ].join("\r\n");
  return new TextEncoder().encode(text);
}

export function complaintMessage(opts: { recipient?: string; about: About }): Uint8Array {
  const text = [
    "From: feedback@isp.example",
    "To: bounces@bounce.test",
    "Subject: Abuse report",
    "Message-ID: <arf-1@isp.example>",
    "MIME-Version: 1.0",
    'Content-Type: multipart/report; report-type=feedback-report; boundary="b2"',
    "",
    "--b2",
    "Content-Type: text/plain",
    "",
    "This is an email abuse report.",
    "",
    "--b2",
    "Content-Type: message/feedback-report",
    "",
    "Feedback-Type: abuse",
    "User-Agent: ISP-FBL/1.0",
    "Version: 1",
    ...(opts.recipient ? [`Original-Rcpt-To: ${opts.recipient}`] : []),
    "",
    "--b2",
    "Content-Type: text/rfc822-headers",
    "",
    returned(opts.about),
    "",
    "--b2--",
    "",
  ].join("\r\n");
  return new TextEncoder().encode(text);
}

export function autoReplyMessage(): Uint8Array {
  const text = [
    "From: ada@example.org",
    "To: bounces@bounce.test",
    "Subject: Out of office: Your receipt",
    "Message-ID: <ooo-1@example.org>",
    "Auto-Submitted: auto-replied",
    "",
    "I am away until Monday.",
    "",
  ].join("\r\n");
  return new TextEncoder().encode(text);
}
