// Auto-replies (vacation, out-of-office, "thanks for your message") arrive at the return path
// too, but say nothing about delivery: the caller ignores them. Recognised by RFC 3834
// Auto-Submitted, the headers common responders set instead (X-Autoreply, X-Autorespond,
// Precedence: auto_reply) and the usual out-of-office subjects in a few languages.
import type { FieldBlock } from "./header-blocks";

const OUT_OF_OFFICE_SUBJECTS = [
  /^\s*(?:auto(?:matic)?[ -]?(?:reply|response)|autoreply|autoresponse)\b/i,
  /\bout of (?:the )?office\b/i,
  /^\s*(?:abwesenheitsnotiz|automatische antwort)\b/i,
  /^\s*(?:r[ée]ponse automatique|absence du bureau)\b/i,
  /^\s*(?:respuesta autom[áa]tica|fuera de la oficina)\b/i,
  /^\s*(?:on vacation|vacation reply|away from (?:my )?(?:desk|office))\b/i,
];

/** Why a message is an auto-reply, or undefined when it does not look like one. */
export function autoReplyReason(headers: FieldBlock, subject: string | undefined): string | undefined {
  const autoSubmitted = headers.get("auto-submitted")?.toLowerCase();
  if (autoSubmitted && !autoSubmitted.startsWith("no")) return `Auto-Submitted: ${autoSubmitted}`;
  for (const name of ["x-autoreply", "x-autorespond", "x-autoresponder"]) {
    const value = headers.get(name);
    if (value !== undefined) return `${name}: ${value}`;
  }
  const precedence = headers.get("precedence")?.toLowerCase();
  if (precedence === "auto_reply") return `Precedence: ${precedence}`;
  if (subject && OUT_OF_OFFICE_SUBJECTS.some((re) => re.test(subject))) return `subject: ${subject.slice(0, 200)}`;
  return undefined;
}
