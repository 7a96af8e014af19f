// The one form a suppressed address is stored and matched under. Local parts are compared
// case-insensitively (RFC 5321 allows case-sensitive ones, but no mailbox provider in use
// treats them so, and a bounce for Bob@ must stop mail to bob@), and an IDN domain is kept in
// its ASCII (punycode) form, so `ada@bücher.de` and `ada@xn--bcher-kva.de` are one entry.
import { domainToASCII } from "node:url";
import { validationFailed } from "../errors";
import { addressProblem } from "../mail";

/** The address as a suppression key, or undefined when it is not an address at all. */
export function suppressionKeyOrUndefined(address: string): string | undefined {
  const trimmed = address.trim();
  if (addressProblem(trimmed)) return undefined;
  const at = trimmed.lastIndexOf("@");
  const domain = trimmed.slice(at + 1);
  // Address literals (`[192.0.2.1]`) have no ASCII form to convert to; they stay as they are.
  const asciiDomain = domain.startsWith("[") ? domain : domainToASCII(domain) || domain;
  return `${trimmed.slice(0, at).toLowerCase()}@${asciiDomain.toLowerCase()}`;
}

/** The address as a suppression key; a string that is not an address is the caller's error (422). */
export function suppressionKey(address: string, field = "email"): string {
  const key = suppressionKeyOrUndefined(address);
  if (key === undefined) {
    throw validationFailed(field, addressProblem(address.trim()) ?? "is not an email address");
  }
  return key;
}
