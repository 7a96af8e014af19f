// Open and click links carry what they stand for — the email, the recipient, and for a click the
// link's index and its exact original URL — sealed with AES-256-GCM under a key derived from the
// secret key. Sealed rather than only signed because the endpoints must never reveal anything
// about the email: whoever sees a tracking link (a forwarded mail, a proxy log) learns nothing of
// ids or addresses. The URL lives inside the seal, so a click is answered without a database read
// and the redirect can only ever go where the email pointed: nobody without the key can make a
// token for a URL of their choice (never an open redirect).
//
// Each token gets its own AES key, HMAC(derived key, 16 random bytes of salt), used once with a
// fixed nonce. Click tokens are made per link × recipient × email and may pass 2^32 under one key
// over its life, the bound NIST SP 800-38D §8.3 puts on random 96-bit GCM nonces; a fresh key per
// token removes that bound for one HMAC (about a microsecond).
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import type { SecretBox } from "../crypto";
import { hasPrefix } from "../ids";

/** The open pixel of one email (and recipient, when the message went to one recipient only). */
export interface OpenClaim {
  emailId: string;
  /** Index in the email's recipients or the address; absent when one message went to several. */
  recipient?: number | string;
}

export interface ClickClaim extends OpenClaim {
  /** The link's position among the tracked links of the html, from 0. */
  linkIndex: number;
  /** The link exactly as the email had it (entities decoded, surrounding whitespace trimmed). */
  url: string;
}

const PURPOSE = "tracking-link-v1";
const SALT_BYTES = 16;
const TAG_BYTES = 16;
const NONCE = Buffer.alloc(12);

/** Longer links are left untracked: 2 KB covers real links and keeps a tracked one under ~3 KB. */
export const MAX_TRACKED_URL_BYTES = 2048;
const MAX_EMAIL_ID_BYTES = 64;
/** RFC 5321's limits on a path, with room: 64 local + @ + 255 domain. */
const MAX_ADDRESS_BYTES = 320;
/** Recipient and link indexes: far above any email's, small enough to bound a token. */
export const MAX_INDEX = 1_000_000;

const KIND_OPEN = 1;
const KIND_CLICK = 2;
const RECIPIENT_NONE = 0;
const RECIPIENT_INDEX = 1;
const RECIPIENT_ADDRESS = 2;
const ID_PACKED = 0x10;

/** The longest token this format makes (the longest URL, id and address), in characters: longer is refused unread. */
export const MAX_TOKEN_LENGTH = Math.ceil(
  ((SALT_BYTES + 1 + (2 + MAX_EMAIL_ID_BYTES) + (2 + MAX_ADDRESS_BYTES) + 3 + MAX_TRACKED_URL_BYTES + TAG_BYTES) * 4) /
    3,
);

/** Seals an open claim. Throws RangeError on ids or indexes out of bounds: a caller's bug, not data. */
export function signOpenToken(secrets: SecretBox, claim: OpenClaim): string {
  const out = new ByteWriter();
  writeHead(out, KIND_OPEN, claim);
  return seal(secrets, out.bytes());
}

/**
 * Seals a click claim; undefined when the URL is not one to track (not an absolute http(s) URL,
 * or longer than MAX_TRACKED_URL_BYTES): the link is then left as it is.
 */
export function signClickToken(secrets: SecretBox, claim: ClickClaim): string | undefined {
  if (!isTrackableUrl(claim.url)) return undefined;
  if (!Number.isInteger(claim.linkIndex) || claim.linkIndex < 0 || claim.linkIndex > MAX_INDEX)
    throw new RangeError(`link index out of bounds: ${claim.linkIndex}`);
  const out = new ByteWriter();
  writeHead(out, KIND_CLICK, claim);
  out.varint(claim.linkIndex);
  out.raw(Buffer.from(claim.url, "utf8"));
  return seal(secrets, out.bytes());
}

/** The claim of a genuine open token; undefined for anything else (altered, truncated, a click token, not ours). */
export function readOpenToken(secrets: SecretBox, token: string): OpenClaim | undefined {
  const bytes = open(secrets, token);
  if (!bytes) return undefined;
  const input = new ByteReader(bytes);
  const head = readHead(input, KIND_OPEN);
  return head && input.done() ? head : undefined;
}

/** The claim of a genuine click token; undefined for anything else (altered, truncated, an open token, not ours). */
export function readClickToken(secrets: SecretBox, token: string): ClickClaim | undefined {
  const bytes = open(secrets, token);
  if (!bytes) return undefined;
  const input = new ByteReader(bytes);
  const head = readHead(input, KIND_CLICK);
  const linkIndex = input.varint();
  const url = input.utf8(input.remaining());
  if (!head || linkIndex === undefined || linkIndex > MAX_INDEX || url === undefined || !isTrackableUrl(url))
    return undefined;
  return { ...head, linkIndex, url };
}

/** An absolute http(s) URL short enough to carry. */
export function isTrackableUrl(url: string): boolean {
  if (Buffer.byteLength(url, "utf8") > MAX_TRACKED_URL_BYTES || !URL.canParse(url)) return false;
  const { protocol } = new URL(url);
  return protocol === "http:" || protocol === "https:";
}

/** Derived once per secret box (HKDF per key is most of a token's cost); a rotation makes a new box. */
const derivedKeys = new WeakMap<SecretBox, Buffer[]>();
function keysOf(secrets: SecretBox): Buffer[] {
  const known = derivedKeys.get(secrets);
  if (known) return known;
  const keys = secrets.deriveKeys(PURPOSE);
  derivedKeys.set(secrets, keys);
  return keys;
}

function seal(secrets: SecretBox, plaintext: Uint8Array): string {
  const [key] = keysOf(secrets);
  const salt = randomBytes(SALT_BYTES);
  const cipher = createCipheriv("aes-256-gcm", tokenKey(key!, salt), NONCE);
  const sealed = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([salt, sealed, cipher.getAuthTag()]).toString("base64url");
}

function open(secrets: SecretBox, token: string): Buffer | undefined {
  if (typeof token !== "string" || token.length > MAX_TOKEN_LENGTH) return undefined;
  const bytes = Buffer.from(token, "base64url");
  // Only the one spelling we wrote: the decoder skips stray characters and spare bits.
  if (bytes.length <= SALT_BYTES + TAG_BYTES || bytes.toString("base64url") !== token) return undefined;
  const salt = bytes.subarray(0, SALT_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  const sealed = bytes.subarray(SALT_BYTES, bytes.length - TAG_BYTES);
  // The current key first, then those before a rotation: GCM's tag tells which one sealed it.
  for (const key of keysOf(secrets)) {
    try {
      const decipher = createDecipheriv("aes-256-gcm", tokenKey(key, salt), NONCE);
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(sealed), decipher.final()]);
    } catch {
      // Not sealed with this key (or altered): try the next one.
    }
  }
  return undefined;
}

const tokenKey = (key: Buffer, salt: Buffer) => createHmac("sha256", key).update(salt).digest();

function writeHead(out: ByteWriter, kind: number, claim: OpenClaim): void {
  const packedId = packEmailId(claim.emailId);
  const { recipient } = claim;
  const form =
    recipient === undefined ? RECIPIENT_NONE : typeof recipient === "number" ? RECIPIENT_INDEX : RECIPIENT_ADDRESS;
  out.byte(kind | (form << 2) | (packedId ? ID_PACKED : 0));
  if (packedId) out.raw(packedId);
  else out.text(claim.emailId, MAX_EMAIL_ID_BYTES, "email id");
  if (typeof recipient === "number") {
    if (!Number.isInteger(recipient) || recipient < 0 || recipient > MAX_INDEX)
      throw new RangeError(`recipient index out of bounds: ${recipient}`);
    out.varint(recipient);
  } else if (recipient !== undefined) out.text(recipient, MAX_ADDRESS_BYTES, "recipient address");
}

function readHead(input: ByteReader, kind: number): OpenClaim | undefined {
  const flags = input.byte();
  if (flags === undefined || (flags & 0x03) !== kind || (flags & ~(0x03 | 0x0c | ID_PACKED)) !== 0) return undefined;
  const emailId = flags & ID_PACKED ? unpackEmailId(input.take(PACKED_ID_BYTES)) : input.text(MAX_EMAIL_ID_BYTES);
  if (!emailId) return undefined;
  const form = (flags >> 2) & 0x03;
  if (form === RECIPIENT_NONE) return { emailId };
  const recipient =
    form === RECIPIENT_INDEX ? input.varint() : form === RECIPIENT_ADDRESS ? input.text(MAX_ADDRESS_BYTES) : undefined;
  if (recipient === undefined || (typeof recipient === "number" && recipient > MAX_INDEX)) return undefined;
  return { emailId, recipient };
}

// Email ids (`em_` + 26 characters of 5 bits, src/ids.ts) packed into 17 bytes instead of 29:
// every tracked link carries one, so this shortens each by 16 characters.
const ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
const ID_CHARS = 26;
const PACKED_ID_BYTES = 17;

function packEmailId(id: string): Buffer | undefined {
  if (!hasPrefix(id, "em")) return undefined;
  let bits = 0n;
  for (const char of id.slice(3)) {
    const value = ID_ALPHABET.indexOf(char);
    if (value < 0) return undefined;
    bits = (bits << 5n) | BigInt(value);
  }
  const packed = Buffer.from(bits.toString(16).padStart(PACKED_ID_BYTES * 2, "0"), "hex");
  return unpackEmailId(packed) === id ? packed : undefined;
}

function unpackEmailId(packed: Buffer | undefined): string | undefined {
  if (!packed || packed.length !== PACKED_ID_BYTES) return undefined;
  let bits = BigInt(`0x${packed.toString("hex")}`);
  if (bits >> BigInt(ID_CHARS * 5) !== 0n) return undefined;
  let chars = "";
  for (let i = 0; i < ID_CHARS; i++) {
    chars = ID_ALPHABET[Number(bits & 31n)] + chars;
    bits >>= 5n;
  }
  return `em_${chars}`;
}

class ByteWriter {
  readonly #parts: Uint8Array[] = [];
  byte(value: number): void {
    this.#parts.push(Uint8Array.of(value));
  }
  raw(bytes: Uint8Array): void {
    this.#parts.push(bytes);
  }
  /** Unsigned LEB128 (the values here need at most 3 bytes). */
  varint(value: number): void {
    const out: number[] = [];
    let rest = value;
    while (rest >= 0x80) {
      out.push((rest & 0x7f) | 0x80);
      rest >>>= 7;
    }
    out.push(rest);
    this.#parts.push(Uint8Array.from(out));
  }
  text(value: string, maxBytes: number, what: string): void {
    const bytes = Buffer.from(value, "utf8");
    if (bytes.length === 0 || bytes.length > maxBytes) throw new RangeError(`${what} must be 1 to ${maxBytes} bytes`);
    this.varint(bytes.length);
    this.raw(bytes);
  }
  bytes(): Buffer {
    return Buffer.concat(this.#parts);
  }
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

class ByteReader {
  #at = 0;
  constructor(private readonly input: Buffer) {}
  byte(): number | undefined {
    return this.#at < this.input.length ? this.input[this.#at++] : undefined;
  }
  take(count: number): Buffer | undefined {
    if (this.#at + count > this.input.length) return undefined;
    this.#at += count;
    return this.input.subarray(this.#at - count, this.#at);
  }
  varint(): number | undefined {
    let value = 0;
    for (let shift = 0; shift <= 21; shift += 7) {
      const byte = this.byte();
      if (byte === undefined) return undefined;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    return undefined;
  }
  text(maxBytes: number): string | undefined {
    const length = this.varint();
    if (length === undefined || length === 0 || length > maxBytes) return undefined;
    return this.utf8(length);
  }
  utf8(count: number): string | undefined {
    const bytes = this.take(count);
    if (!bytes) return undefined;
    try {
      return strictUtf8.decode(bytes);
    } catch {
      return undefined;
    }
  }
  remaining(): number {
    return this.input.length - this.#at;
  }
  done(): boolean {
    return this.#at === this.input.length;
  }
}
