// What counts as a host, a mail domain and an address here. Domains may be internationalised
// (IDN): they are checked, compared and connected to in their ASCII (punycode) form.
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
