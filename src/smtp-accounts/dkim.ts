// DKIM signing for an SMTP account: a domain, a selector and an RSA private key, all three or
// none. The key is write-only: sealed with the secret box like the password, never returned,
// and opened only for the dispatcher's transport.
import { createPrivateKey } from "node:crypto";
import * as v from "valibot";
import type { SecretBox } from "../crypto/secret-box";
import { validationFailed } from "../errors";
import { asciiMailDomain } from "../mail/address";

/** nodemailer signs with RSA-SHA256 only; below 1024 bits receivers treat the signature as absent (RFC 8301). */
export const MIN_DKIM_RSA_BITS = 1024;
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
  v.check(
    (pem: string) => dkimKeyProblem(pem) === undefined,
    "must be an RSA private key in PEM form, 1024 bits or more",
  ),
  v.description(
    "RSA private key in PEM form (PKCS#1 or PKCS#8, 2048 bits advised). Write-only: stored encrypted (AES-256-GCM) " +
      "and never returned.",
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
    return undefined;
  } catch {
    return "is not a PEM private key";
  }
}

type Stored = { dkim_domain: string | null; dkim_selector: string | null; dkim_private_key_sealed: string | null };

/**
 * All three DKIM columns after a write: fields left out keep their value, `null` clears one. The
 * result must be all three or none, so an account never signs half-configured.
 */
export function dkimColumns(
  f: { dkim_domain?: string | null; dkim_selector?: string | null; dkim_private_key?: string | null },
  current: Stored | undefined,
  secrets: SecretBox,
): Stored {
  const changes: Partial<Stored> = {};
  if (f.dkim_domain !== undefined) changes.dkim_domain = f.dkim_domain;
  if (f.dkim_selector !== undefined) changes.dkim_selector = f.dkim_selector;
  if (f.dkim_private_key !== undefined) {
    changes.dkim_private_key_sealed = f.dkim_private_key === null ? null : secrets.seal(f.dkim_private_key);
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
export function openDkim(row: Stored, secrets: SecretBox): DkimSettings | undefined {
  if (row.dkim_domain === null || row.dkim_selector === null || row.dkim_private_key_sealed === null) return undefined;
  return {
    domainName: row.dkim_domain,
    keySelector: row.dkim_selector,
    privateKey: secrets.open(row.dkim_private_key_sealed),
    headerFieldNames: SIGNED_HEADERS,
  };
}
