// The per-message return path (VERP): mail sent with a bounce domain gets the envelope sender
// `<prefix>+<token>@<bounce domain>`, so a DSN, which is mailed to the envelope sender, says by
// its RCPT TO alone which email and which recipient it is about — no matter how the reporting MTA
// words the report. The token is signed (truncated HMAC-SHA256 under a key derived from the secret
// key), so a forged or altered one is refused: a stranger cannot make Posthorn suppress addresses
// by mailing fake bounces. It uses only lower-case letters and digits (Crockford base32, the id
// alphabet): some relays lower-case local parts, and `+`, `=` or `/` are not safe everywhere. It
// is read case-insensitively, which loses nothing because the alphabet has no case.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { SecretBox } from "../crypto";
import { asciiMailDomain, MAX_ADDRESS } from "../mail";

const PURPOSE = "return-path-v1";
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
const EMAIL_ID_PREFIX = "em_";
/** An email id after its `em_` prefix (src/ids.ts): 26 characters of the alphabet. */
const EMAIL_ID_CHARS = 26;
/**
 * 13 characters = 65 bits of HMAC. Every guess costs the forger a message delivered to us, so
 * 2^64 guesses are out of reach; a full tag would push the local part past 64 octets.
 */
const MAC_CHARS = 13;
/** 8 characters = 40 bits of sha256 of the address: tells apart the recipients of one email. */
const DIGEST_CHARS = 8;
/** Recipient indexes up to 32^3 - 1; an email has far fewer recipients (POSTHORN_MAX_RECIPIENTS). */
const MAX_INDEX_CHARS = 3;
export const MAX_RECIPIENT_INDEX = 32 ** MAX_INDEX_CHARS - 1;
/** RFC 5321: a local part is at most 64 octets. */
const MAX_LOCAL_PART = 64;
/** The token's first character says what follows the email id. */
const BY_INDEX = "r";
const BY_ADDRESS = "a";
/** The longest token this module writes: kind + id + digest + MAC. */
const MAX_TOKEN_CHARS = 1 + EMAIL_ID_CHARS + Math.max(DIGEST_CHARS, MAX_INDEX_CHARS) + MAC_CHARS;
/** The longest prefix that still leaves room for `+` and the longest token within 64 octets. */
export const MAX_RETURN_PATH_PREFIX = MAX_LOCAL_PART - 1 - MAX_TOKEN_CHARS;
/** Letters, digits, `.`, `-` and `_`: safe in a local part everywhere; `+` separates the token. */
const PREFIX = /^[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?$/;

export interface ReturnPathTarget {
  prefix: string;
  bounceDomain: string;
  emailId: string;
  /** Which recipient: its position in the email's recipients, or its address. */
  recipient: { index: number } | { address: string };
}

/** What a genuine return path names; match it to a recipient with `recipientOfClaim`. */
export type ReturnPathClaim =
  | { emailId: string; recipientIndex: number }
  | { emailId: string; recipientDigest: string; recipientIndex?: undefined };

/** Why a prefix and bounce domain cannot make return paths (for config checks), or undefined. */
export function returnPathProblem(prefix: string, bounceDomain: string): string | undefined {
  if (prefix.length > MAX_RETURN_PATH_PREFIX)
    return `prefix must be at most ${MAX_RETURN_PATH_PREFIX} characters (the local part holds 64)`;
  if (!PREFIX.test(prefix)) return "prefix may hold only lower-case letters, digits, '.', '-' and '_'";
  if (!asciiMailDomain(bounceDomain)) return "bounce domain is not a domain name";
  return undefined;
}

/** The envelope sender for one recipient of one email. Throws on a bad prefix, domain or id (a bug, not input). */
export function returnPathFor(secrets: SecretBox, target: ReturnPathTarget): string {
  const problem = returnPathProblem(target.prefix, target.bounceDomain);
  if (problem) throw new Error(`cannot make a return path: ${problem}`);
  const id = emailIdChars(target.emailId);
  if (!id) throw new Error(`cannot make a return path for ${JSON.stringify(target.emailId)}: not an email id`);
  let body: string;
  if ("index" in target.recipient) {
    const { index } = target.recipient;
    if (!Number.isInteger(index) || index < 0 || index > MAX_RECIPIENT_INDEX)
      throw new Error(`recipient index must be an integer from 0 to ${MAX_RECIPIENT_INDEX}`);
    body = BY_INDEX + id + toBase32(index);
  } else {
    body = BY_ADDRESS + id + addressDigest(target.recipient.address);
  }
  const [key] = secrets.deriveKeys(PURPOSE);
  return `${target.prefix}+${body}${mac(key!, body)}@${asciiMailDomain(target.bounceDomain)}`;
}

/**
 * What the return path of a genuine token names; undefined for anything else — not ours, forged,
 * altered, truncated, too long — never a throw. The domain is not checked here (the listener
 * accepts only its bounce domains); any configured key, current or previous, verifies.
 */
export function readReturnPath(secrets: SecretBox, address: string): ReturnPathClaim | undefined {
  if (typeof address !== "string" || address.length > MAX_ADDRESS) return undefined;
  const at = address.lastIndexOf("@");
  const local = at > 0 ? address.slice(0, at) : "";
  const plus = local.lastIndexOf("+");
  if (plus < 1 || local.length > MAX_LOCAL_PART) return undefined;
  const token = local.slice(plus + 1).toLowerCase();
  if (token.length > MAX_TOKEN_CHARS || token.length < 1 + EMAIL_ID_CHARS + 1 + MAC_CHARS) return undefined;
  for (const c of token) if (!ALPHABET.includes(c)) return undefined;

  const body = token.slice(0, -MAC_CHARS);
  const given = Buffer.from(token.slice(-MAC_CHARS));
  if (!secrets.deriveKeys(PURPOSE).some((key) => timingSafeEqual(Buffer.from(mac(key, body)), given))) return undefined;

  const kind = body[0];
  const emailId = EMAIL_ID_PREFIX + body.slice(1, 1 + EMAIL_ID_CHARS);
  const rest = body.slice(1 + EMAIL_ID_CHARS);
  if (kind === BY_INDEX && rest.length >= 1 && rest.length <= MAX_INDEX_CHARS) {
    return { emailId, recipientIndex: fromBase32(rest) };
  }
  if (kind === BY_ADDRESS && rest.length === DIGEST_CHARS) return { emailId, recipientDigest: rest };
  return undefined;
}

/** The recipient a claim names, among the email's recipients in the order they were numbered. */
export function recipientOfClaim(claim: ReturnPathClaim, recipients: readonly string[]): string | undefined {
  if (claim.recipientIndex !== undefined) return recipients[claim.recipientIndex];
  return recipients.find((r) => addressDigest(r) === claim.recipientDigest);
}

function emailIdChars(emailId: string): string | undefined {
  if (!emailId.startsWith(EMAIL_ID_PREFIX)) return undefined;
  const chars = emailId.slice(EMAIL_ID_PREFIX.length);
  if (chars.length !== EMAIL_ID_CHARS) return undefined;
  for (const c of chars) if (!ALPHABET.includes(c)) return undefined;
  return chars;
}

/** Case-insensitive, as every receiving system in practice treats addresses. */
function addressDigest(address: string): string {
  return base32(createHash("sha256").update(address.trim().toLowerCase(), "utf8").digest()).slice(0, DIGEST_CHARS);
}

function mac(key: Buffer, body: string): string {
  return base32(createHmac("sha256", key).update(`${PURPOSE}:${body}`).digest()).slice(0, MAC_CHARS);
}

/** Crockford base32 of bytes, 5 bits a character, most significant first. */
function base32(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return bits > 0 ? out + ALPHABET[(value << (5 - bits)) & 31] : out;
}

function toBase32(n: number): string {
  let out = "";
  do {
    out = ALPHABET[n % 32] + out;
    n = Math.floor(n / 32);
  } while (n > 0);
  return out;
}

function fromBase32(chars: string): number {
  let n = 0;
  for (const c of chars) n = n * 32 + ALPHABET.indexOf(c);
  return n;
}
