// The shape of an API key: `ph_<12 public chars>_<32 secret chars>`. The public part finds the
// key's row; the whole key is checked against its stored sha256 in constant time.
import { createHash, timingSafeEqual } from "node:crypto";
import { randomChars } from "../ids";

const PREFIX_CHARS = 12;
const SECRET_CHARS = 32; // 160 bits of randomness
const KEY_PATTERN = /^(ph_[0-9a-z]{12})_[0-9a-z]{32}$/;

export function generateApiKey(): { prefix: string; key: string } {
  const prefix = `ph_${randomChars(PREFIX_CHARS)}`;
  return { prefix, key: `${prefix}_${randomChars(SECRET_CHARS)}` };
}

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** The public prefix of a well-formed key, or undefined. */
export function apiKeyPrefix(key: string): string | undefined {
  return KEY_PATTERN.exec(key)?.[1];
}

/** Constant-time comparison of a presented key against a stored hash. */
export function apiKeyMatches(key: string, storedHash: string): boolean {
  const a = Buffer.from(hashApiKey(key), "hex");
  const b = Buffer.from(storedHash, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}
