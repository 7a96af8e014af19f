// Email addresses as RFC 5322 addr-specs, with internationalised (IDN) domains accepted and
// checked in their ASCII (punycode) form. Display names may hold any text but never CR/LF,
// which would let a caller inject headers.
import { domainToASCII } from "node:url";

export interface Address {
  email: string;
  name?: string;
}

const ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-";
const DOT_ATOM = new RegExp(`^[${ATEXT}]+(\\.[${ATEXT}]+)*$`);
const QUOTED = /^"([\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"$/;
const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
export const MAX_ADDRESS_LENGTH = 254;
export const MAX_NAME_LENGTH = 200;
const CONTROL = /\p{Cc}/u;

/** Why an addr-spec is unacceptable, or undefined when it is fine. */
export function addressProblem(email: string): string | undefined {
  if (email.length > MAX_ADDRESS_LENGTH) return `must be at most ${MAX_ADDRESS_LENGTH} characters`;
  if (CONTROL.test(email)) return "must not contain control characters (CR/LF)";
  const at = email.lastIndexOf("@");
  if (at < 1 || at === email.length - 1) return "is not an email address (expected local@domain)";
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (local.length > 64) return "has a local part longer than 64 characters";
  if (!DOT_ATOM.test(local) && !QUOTED.test(local)) return "has an invalid local part";
  if (domain.startsWith("[")) {
    return /^\[(\d{1,3}\.){3}\d{1,3}\]$/.test(domain) ? undefined : "has an invalid address literal";
  }
  const ascii = domainToASCII(domain);
  if (!ascii || ascii.length > 253) return "has an invalid domain";
  const labels = ascii.split(".");
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) return "has an invalid domain";
  return undefined;
}

/** "Name <a@b.c>" or "a@b.c" → Address; undefined when the string is not of either form. */
export function parseAddressString(input: string): Address | undefined {
  const text = input.trim();
  const m = /^(.*?)\s*<([^<>]+)>$/.exec(text);
  if (!m) return { email: text };
  const name = m[1]?.trim().replace(/^"(.*)"$/, "$1");
  return name ? { email: m[2]!.trim(), name } : { email: m[2]!.trim() };
}

export function nameProblem(name: string): string | undefined {
  if (CONTROL.test(name)) return "must not contain control characters (CR/LF)";
  if (name.length > MAX_NAME_LENGTH) return `must be at most ${MAX_NAME_LENGTH} characters`;
  return undefined;
}

/** The domain part, lower-cased, in ASCII form (for from-domain checks). */
export function domainOf(email: string): string {
  const domain = email.slice(email.lastIndexOf("@") + 1);
  return (domainToASCII(domain) || domain).toLowerCase();
}

/** Canonical form for comparisons and suppression lookups: trimmed, lower-cased. */
export function normalizeAddress(email: string): string {
  return email.trim().toLowerCase();
}
