// Tokens never expire, so a tracked link in an old email would be a redirect through our domain
// forever (anyone holding the link can pass it around). Email ids carry their creation time
// (src/ids.ts), so old mail is recognised from the token alone, without a database read.
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

/** Clicks on mail older than this get the 404 and are not recorded; opens are not recorded. */
export const MAX_TRACKED_AGE_MS = 400 * 86_400_000;

/** When the email was accepted, from its id (`em_` + 10 characters of time); undefined if unreadable. */
export function emailIdTime(id: string): number | undefined {
  const time = id.slice(id.indexOf("_") + 1, id.indexOf("_") + 11);
  if (time.length !== 10) return undefined;
  let t = 0;
  for (const ch of time) {
    const digit = ALPHABET.indexOf(ch);
    if (digit < 0) return undefined;
    t = t * 32 + digit;
  }
  return t;
}

/** Whether hits on this email are still taken (not older than MAX_TRACKED_AGE_MS). */
export function stillTracked(emailId: string, now: number): boolean {
  const at = emailIdTime(emailId);
  return at !== undefined && now - at <= MAX_TRACKED_AGE_MS;
}
