// Opaque, type-prefixed ids (`em_…`, `ten_…`). The first 10 characters after the prefix are
// the creation time in Crockford base32, so ids sort by creation and serve as pagination cursors.
import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

export type IdPrefix = "ten" | "key" | "smtp" | "em" | "att" | "tpl" | "bat" | "wh" | "whd" | "sup" | "inb" | "fb";

export function newId(prefix: IdPrefix, now = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return `${prefix}_${time}${randomChars(16)}`;
}

/** Random characters from the id alphabet (5 bits each). */
export function randomChars(count: number): string {
  const bytes = randomBytes(count);
  let out = "";
  for (let i = 0; i < count; i++) out += ALPHABET[(bytes[i] as number) & 31];
  return out;
}

export function hasPrefix(id: string, prefix: IdPrefix): boolean {
  return id.startsWith(`${prefix}_`) && /^[a-z]+_[0-9a-z]{26}$/.test(id);
}
