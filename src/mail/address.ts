// What counts as a host, a mail domain and an address, for every module. Addresses are RFC 5322
// addr-specs; domains may be internationalised (IDN) and are checked, compared and connected to
// in their ASCII (punycode) form. Display names may hold any text but never CR/LF, which would
// let a caller inject headers.
import { isIP } from "node:net";
import { domainToASCII, domainToUnicode } from "node:url";

/** RFC 1035 letter-digit-hyphen label, as IDNA leaves every label of a domain. */
const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** RFC 5322 atext, the characters of a dot-atom local part. */
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
/** RFC 5322 quoted-string local part: printable ASCII, with `"` and `\` only escaped. */
const QUOTED_LOCAL = /^"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"$/;
/** RFC 5321 limits: 64 octets of local part, 255 of domain, 254 for the whole path. */
const MAX_LOCAL_PART = 64;
const MAX_DOMAIN = 253;
export const MAX_ADDRESS = 254;

/** The ASCII form of a domain name (any number of labels), or undefined if it is not one. */
export function asciiHostname(name: string): string | undefined {
  if (!name || name.endsWith(".")) return undefined;
  const ascii = domainToASCII(name);
  if (!ascii || ascii.length > MAX_DOMAIN) return undefined;
  return ascii.split(".").every((label) => LDH_LABEL.test(label)) ? ascii : undefined;
}

/** A domain mail can be sent from: a host name of two labels or more whose top label is not numeric. */
export function asciiMailDomain(name: string): string | undefined {
  const ascii = asciiHostname(name);
  if (!ascii) return undefined;
  const labels = ascii.split(".");
  return labels.length >= 2 && !/^\d+$/.test(labels[labels.length - 1] ?? "") ? ascii : undefined;
}

/** The form a domain is stored and shown in: lower case, Unicode where it was written so. */
export function displayDomain(name: string): string {
  return domainToUnicode(domainToASCII(name)) || name.toLowerCase();
}

/** An SMTP server to connect to: a host name (IDN allowed) or an IPv4/IPv6 address. */
export function isSmtpHost(host: string): boolean {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  return isIP(bare) !== 0 || asciiHostname(host) !== undefined;
}

/** The host as nodemailer should dial it: IDN in punycode, IPv6 without brackets. */
export function dialableHost(host: string): string {
  if (host.startsWith("[") && host.endsWith("]")) return host.slice(1, -1);
  return isIP(host) ? host : (asciiHostname(host) ?? host);
}

/** Splits an RFC 5322 addr-spec (`local@domain`, IDN domain allowed), or undefined if it is not one. */
export function parseAddrSpec(address: string): { local: string; asciiDomain: string } | undefined {
  if (address.length > MAX_ADDRESS) return undefined;
  const at = address.lastIndexOf("@");
  if (at <= 0) return undefined;
  const local = address.slice(0, at);
  const asciiDomain = asciiMailDomain(address.slice(at + 1));
  if (!asciiDomain || local.length > MAX_LOCAL_PART) return undefined;
  return DOT_ATOM.test(local) || QUOTED_LOCAL.test(local) ? { local, asciiDomain } : undefined;
}

export const isAddrSpec = (address: string) => parseAddrSpec(address) !== undefined;

/** CR, LF or another control character: never allowed in anything that becomes a header. */
export const hasControlChars = (text: string) => /\p{Cc}/u.test(text);

export interface Address {
  email: string;
  name?: string;
}

export const MAX_NAME_LENGTH = 200;

/** Why an addr-spec is unacceptable (a phrase to follow the field name), or undefined when it is fine. */
export function addressProblem(email: string): string | undefined {
  if (email.length > MAX_ADDRESS) return `must be at most ${MAX_ADDRESS} characters`;
  if (hasControlChars(email)) return "must not contain control characters (CR/LF)";
  const at = email.lastIndexOf("@");
  if (at < 1 || at === email.length - 1) return "is not an email address (expected local@domain)";
  const local = email.slice(0, at);
  if (local.length > MAX_LOCAL_PART) return `has a local part longer than ${MAX_LOCAL_PART} characters`;
  if (!DOT_ATOM.test(local) && !QUOTED_LOCAL.test(local)) return "has an invalid local part";
  const domain = email.slice(at + 1);
  if (domain.startsWith("[")) {
    return /^\[(\d{1,3}\.){3}\d{1,3}\]$/.test(domain) ? undefined : "has an invalid address literal";
  }
  return asciiMailDomain(domain) ? undefined : "has an invalid domain";
}

/**
 * The longest `"Name" <local@domain>` string: a name, an address, quotes, brackets and a little
 * whitespace. Callers refuse a longer one before parsing it, so no parse ever sees a megabyte.
 */
export const MAX_ADDRESS_STRING = MAX_NAME_LENGTH + MAX_ADDRESS + 16;

/**
 * "Name <a@b.c>" or "a@b.c" → Address (the address itself is checked separately). Linear scans
 * only: the regex this replaces backtracked quadratically on long runs of spaces (120,000 spaces
 * held the main thread for 3.8 s).
 */
export function parseAddressString(input: string): Address {
  const text = input.trim();
  const open = text.lastIndexOf("<");
  const inner = open >= 0 && text.endsWith(">") ? text.slice(open + 1, -1) : "";
  if (!inner || inner.includes(">")) return { email: text };
  let name = text.slice(0, open).trim();
  if (name.length >= 2 && name.startsWith('"') && name.endsWith('"')) name = name.slice(1, -1);
  return name ? { email: inner.trim(), name } : { email: inner.trim() };
}

export function nameProblem(name: string): string | undefined {
  if (hasControlChars(name)) return "must not contain control characters (CR/LF)";
  if (name.length > MAX_NAME_LENGTH) return `must be at most ${MAX_NAME_LENGTH} characters`;
  return undefined;
}

/** The domain part, lower-cased, in ASCII form. */
export function domainOf(email: string): string {
  const domain = email.slice(email.lastIndexOf("@") + 1);
  return (domainToASCII(domain) || domain).toLowerCase();
}
