// DKIM signing for an SMTP account: a domain, a selector and an RSA private key, all three or
// none. The key is write-only: sealed with the secret box like the password, never returned,
// and opened only for the dispatcher's transport.
import { createPrivateKey } from "node:crypto";
import * as v from "valibot";
import type { SecretBox, SecretPlace } from "../crypto";
import { validationFailed } from "../errors";
import { asciiMailDomain } from "../mail";

/** nodemailer signs with RSA-SHA256 only; below 1024 bits receivers treat the signature as absent (RFC 8301). */
export const MIN_DKIM_RSA_BITS = 1024;
/**
 * RFC 8301 asks verifiers to handle up to 4096 bits; larger keys buy nothing and cost every send
 * dearly (RSA signing grows roughly with the cube of the size; measured per signature: 2048 bits
 * 1.6 ms, 4096 bits 8.7 ms, 5120 bits 17 ms, so 16,384 bits would be about half a second).
 */
export const MAX_DKIM_RSA_BITS = 4096;
const MAX_KEY_PEM = 16 * 1024;

/**
 * Signed besides nodemailer's default list: RFC 8058 requires the signature to cover
 * List-Unsubscribe-Post, or receivers ignore one-click unsubscribe.
 */
const SIGNED_HEADERS =
  "From:Sender:Reply-To:Subject:Date:Message-ID:To:Cc:MIME-Version:Content-Type:Content-Transfer-Encoding:" +
  "Content-ID:Content-Description:Resent-Date:Resent-From:Resent-Sender:Resent-To:Resent-Cc:Resent-Message-ID:" +
  "In-Reply-To:References:List-Id:List-Help:List-Unsubscribe:List-Unsubscribe-Post:List-Subscribe:List-Post:" +
  "List-Owner:List-Archive";

export const DkimDomainField = v.pipe(
  v.string(),
  v.trim(),
  v.check((d: string) => asciiMailDomain(d) !== undefined, "must be a domain name such as example.com"),
  v.transform((d: string) => asciiMailDomain(d)!),
  v.description(
    "The signing domain (`d=`), usually the domain of `from_email`. Give domain, selector and key together.",
  ),
  v.examples(["example.com"]),
);

export const DkimSelectorField = v.pipe(
  v.string(),
  v.trim(),
  v.regex(
    /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/,
    "must be a DNS label such as mail2026",
  ),
  v.description("The selector (`s=`): the public key is published at `<selector>._domainkey.<domain>`."),
  v.examples(["posthorn"]),
);

export const DkimPrivateKeyField = v.pipe(
  v.string(),
  v.maxLength(MAX_KEY_PEM),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const problem = dkimKeyProblem(dataset.value);
    if (problem) addIssue({ message: problem });
  }),
  v.description(
    `RSA private key in PEM form (PKCS#1 or PKCS#8), ${MIN_DKIM_RSA_BITS} to ${MAX_DKIM_RSA_BITS} bits (2048 ` +
      "advised). Write-only: stored encrypted (AES-256-GCM) and never returned. Changing `dkim_domain` or " +
      "`dkim_selector` drops the stored key unless a new one is given in the same request.",
  ),
  v.metadata({ writeOnly: true }),
);

/** Why a PEM cannot sign DKIM, or undefined when it can. */
export function dkimKeyProblem(pem: string): string | undefined {
  try {
    const key = createPrivateKey({ key: pem, format: "pem" });
    if (key.asymmetricKeyType !== "rsa") return `is a ${key.asymmetricKeyType} key; DKIM signing here needs RSA`;
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_DKIM_RSA_BITS) return `is ${bits} bits; at least ${MIN_DKIM_RSA_BITS} are needed`;
    if (bits > MAX_DKIM_RSA_BITS) return `is ${bits} bits; at most ${MAX_DKIM_RSA_BITS} are accepted`;
    return undefined;
  } catch {
    return "is not a PEM private key";
  }
}

type Stored = { dkim_domain: string | null; dkim_selector: string | null; dkim_private_key_sealed: string | null };

/** Where an account's DKIM key is sealed: it opens in that row and column only. */
export const dkimKeyPlace = (accountId: string): SecretPlace => ({
  table: "smtp_accounts",
  column: "dkim_private_key_sealed",
  id: accountId,
});

/**
 * All three DKIM columns after a write: fields left out keep their value, `null` clears one. The
 * result must be all three or none, so an account never signs half-configured. A stored key stays
 * bound to the domain and selector it was given for: changing either drops it unless the same
 * request brings a key (so the all-three rule then asks for one).
 */
export function dkimColumns(
  f: { dkim_domain?: string | null; dkim_selector?: string | null; dkim_private_key?: string | null },
  current: Stored | undefined,
  accountId: string,
  secrets: SecretBox,
): Stored {
  const changes: Partial<Stored> = {};
  if (f.dkim_domain !== undefined) changes.dkim_domain = f.dkim_domain;
  if (f.dkim_selector !== undefined) changes.dkim_selector = f.dkim_selector;
  const rebound =
    (f.dkim_domain !== undefined && f.dkim_domain !== current?.dkim_domain) ||
    (f.dkim_selector !== undefined && f.dkim_selector !== current?.dkim_selector);
  if (f.dkim_private_key !== undefined) {
    changes.dkim_private_key_sealed =
      f.dkim_private_key === null ? null : secrets.seal(f.dkim_private_key, dkimKeyPlace(accountId));
  } else if (rebound && current?.dkim_private_key_sealed) {
    changes.dkim_private_key_sealed = null;
    const domain = f.dkim_domain !== undefined ? f.dkim_domain : current.dkim_domain;
    const selector = f.dkim_selector !== undefined ? f.dkim_selector : current.dkim_selector;
    if (domain !== null && selector !== null) {
      throw validationFailed(
        "dkim_private_key",
        "must be given again when dkim_domain or dkim_selector changes (the stored key stays with the ones it was set for)",
      );
    }
  }
  const after = {
    dkim_domain: current?.dkim_domain ?? null,
    dkim_selector: current?.dkim_selector ?? null,
    dkim_private_key_sealed: current?.dkim_private_key_sealed ?? null,
    ...changes,
  };
  const set = [after.dkim_domain, after.dkim_selector, after.dkim_private_key_sealed].filter((x) => x !== null);
  if (set.length !== 0 && set.length !== 3) {
    const missing =
      after.dkim_domain === null ? "dkim_domain" : after.dkim_selector === null ? "dkim_selector" : "dkim_private_key";
    throw validationFailed(missing, "dkim_domain, dkim_selector and dkim_private_key go together (all three, or none)");
  }
  return after;
}

/** nodemailer's `dkim` option for an account that signs. */
export interface DkimSettings {
  domainName: string;
  keySelector: string;
  privateKey: string;
  headerFieldNames: string;
}

/** Opens the sealed key; undefined when the account does not sign. Throws when the key cannot be opened. */
export function openDkim(row: Stored, accountId: string, secrets: SecretBox): DkimSettings | undefined {
  if (row.dkim_domain === null || row.dkim_selector === null || row.dkim_private_key_sealed === null) return undefined;
  return {
    domainName: row.dkim_domain,
    keySelector: row.dkim_selector,
    privateKey: secrets.open(row.dkim_private_key_sealed, dkimKeyPlace(accountId)),
    headerFieldNames: SIGNED_HEADERS,
  };
}
