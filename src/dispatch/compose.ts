// An email row as a nodemailer message. Bcc recipients go only into the envelope (nodemailer
// never writes a Bcc header), and on a retry the envelope holds only the recipients still
// pending, so nobody who already received the email gets it twice.
import type { SendMailOptions } from "nodemailer";
import type { OutgoingAttachment } from "../attachments";
import type { EmailRow } from "../emails";
import { type Address, domainOf } from "../mail";

const toNodemailer = (list: Address[]) => list.map((a) => (a.name ? { name: a.name, address: a.email } : a.email));

/** Message-ID on the domain the email is actually sent from (spam filters look at it). */
export function messageIdFor(emailId: string, fromEmail: string): string {
  return `<${emailId}@${domainOf(fromEmail)}>`;
}

export function composeMessage(
  row: EmailRow,
  account: { from_email: string; from_name: string | null },
  pending: string[],
  attachments: OutgoingAttachment[] = [],
): SendMailOptions {
  const fromEmail = row.from_email ?? account.from_email;
  const fromName = row.from_email ? row.from_name : account.from_name;
  const replyTo = JSON.parse(row.reply_to_json) as Address[];
  return {
    from: fromName ? { name: fromName, address: fromEmail } : fromEmail,
    to: toNodemailer(JSON.parse(row.to_json)),
    cc: toNodemailer(JSON.parse(row.cc_json)),
    bcc: toNodemailer(JSON.parse(row.bcc_json)),
    replyTo: replyTo.length ? toNodemailer(replyTo) : undefined,
    subject: row.subject,
    text: row.text_body ?? undefined,
    html: row.html_body ?? undefined,
    headers: { ...(JSON.parse(row.headers_json) as Record<string, string>), "X-Posthorn-Email-Id": row.id },
    messageId: messageIdFor(row.id, fromEmail),
    envelope: { from: fromEmail, to: pending },
    attachments: attachments.map((a) => ({
      filename: a.filename,
      content: a.content,
      contentType: a.contentType,
      // A content id makes the file an inline part the html shows as `cid:…`.
      ...(a.contentId ? { cid: a.contentId, contentDisposition: "inline" as const } : {}),
    })),
    // No "X-Mailer: nodemailer" header: it says nothing useful and spam filters score it.
    xMailer: false,
  };
}
