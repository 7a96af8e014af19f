// One SMTP attempt of an email through the chosen account, classified per recipient: one
// transaction for all of them (the `from` as envelope sender), or, with a bounce domain, one per
// recipient with its own signed return path (return-paths.ts), the message composed once.
import type { SendMailOptions } from "nodemailer";
import type { Config } from "../config";
import type { SecretBox } from "../crypto";
import type { EmailRow, RecipientState } from "../emails";
import type { SendableAccount } from "../smtp-accounts";
import type { SmtpSender } from "./account-pool";
import { type ClassifiedAttempt, classifyEach, classifyFailure, classifySuccess } from "./classify";
import { returnPathEnvelopes } from "./return-paths";

/** What a send needs: the sender, and for return paths the secret key and the prefix. */
export interface SendDeps {
  sender: SmtpSender;
  secrets: SecretBox;
  config: Pick<Config, "bouncePrefix">;
}

/** Without a bounce domain: one transaction for every pending recipient, the `from` as envelope sender. */
export async function sendOnce(
  deps: SendDeps,
  account: SendableAccount,
  message: SendMailOptions,
  pending: string[],
): Promise<ClassifiedAttempt> {
  try {
    const info = await deps.sender.send(account, message);
    return classifySuccess(pending, info as Parameters<typeof classifySuccess>[1]);
  } catch (err) {
    return classifyFailure(pending, err as Parameters<typeof classifyFailure>[1]);
  }
}

/** With a bounce domain: the same message in a transaction per recipient, each with its own return path. */
export async function sendPerRecipient(
  deps: SendDeps,
  account: SendableAccount,
  bounceDomain: string,
  message: SendMailOptions,
  row: EmailRow,
  recipients: RecipientState[],
  pending: string[],
): Promise<ClassifiedAttempt> {
  let envelopes: ReturnType<typeof returnPathEnvelopes>;
  try {
    envelopes = returnPathEnvelopes(
      deps.secrets,
      { prefix: deps.config.bouncePrefix, bounceDomain, emailId: row.id },
      recipients,
    );
  } catch (err) {
    // Checked when written, so only a value written around the API: the account's fault, retried.
    const why = `the return path on ${bounceDomain} cannot be made: ${err instanceof Error ? err.message : err}`;
    return classifyFailure(pending, { code: RETURN_PATH_ERROR, message: why });
  }
  const results = await deps.sender.sendEach(
    account,
    message,
    envelopes.map((e) => e.transaction),
  );
  return classifyEach(
    envelopes.map((e, i) => ({
      recipient: e.recipient,
      reply: results[i]?.reply as Parameters<typeof classifySuccess>[1] | undefined,
      error: results[i]?.error as Parameters<typeof classifyFailure>[1] | undefined,
    })),
  );
}

/** The error code of an attempt whose return path could not be made (a bounce domain that is no domain). */
export const RETURN_PATH_ERROR = "ERETURNPATH";
