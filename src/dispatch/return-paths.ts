// Mail through an account with a bounce domain (its own or its tenant's) goes to each recipient in
// a transaction of its own, with a signed return path naming the email and that recipient
// (src/feedback), and asks the relay for DSNs: a bounce then says by its address alone what it is
// about. Computed on the main thread, where the secret key is; the send threads get the envelopes.
import type { SecretBox } from "../crypto";
import type { RecipientState } from "../emails";
import { returnPathFor } from "../feedback";
import type { DsnRequest, SmtpTransaction } from "./account-pool";

/** RFC 3461: report failures and delays (not successes), return only the headers, keyed by the email id. */
export const dsnRequestFor = (emailId: string): DsnRequest => ({
  id: emailId,
  return: "headers",
  notify: ["failure", "delay"],
});

export interface RecipientEnvelope {
  recipient: string;
  transaction: SmtpTransaction;
}

/**
 * One transaction for each pending recipient (an address listed twice: once, as results are
 * matched to recipients by address). The token names the
 * recipient by its place in recipients_json (to, cc, bcc as accepted), which is how the inbound side
 * finds it again. Throws when the prefix or domain cannot make a return path (checked when written).
 */
export function returnPathEnvelopes(
  secrets: SecretBox,
  target: { prefix: string; bounceDomain: string; emailId: string },
  recipients: readonly RecipientState[],
): RecipientEnvelope[] {
  const dsn = dsnRequestFor(target.emailId);
  const seen = new Set<string>();
  const out: RecipientEnvelope[] = [];
  recipients.forEach((r, index) => {
    if (r.status !== "pending" || seen.has(r.email)) return;
    seen.add(r.email);
    const from = returnPathFor(secrets, { ...target, recipient: { index } });
    out.push({ recipient: r.email, transaction: { envelope: { from, to: [r.email] }, dsn } });
  });
  return out;
}
