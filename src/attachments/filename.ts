// A file name as a recipient's mail client will see it: no folders (`../../etc/passwd`,
// `C:\Users\…`), no control characters, and no invisible formatting characters — U+202E
// (right-to-left override) is how `invoice‮fdp.exe` is made to look like `invoiceexe.pdf`.
import { extensionFor } from "./sniff";

export const MAX_FILENAME_LENGTH = 200;

/** The name cleaned; empty when nothing usable is left (see fallbackFilename). */
export function sanitizeFilename(raw: string): string {
  const base = raw.normalize("NFC").split(/[\\/]/).pop() ?? "";
  let name = base
    // Cc: control characters; Cf: format characters (bidi overrides, zero-width); Zl/Zp: line breaks.
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, "")
    // Characters Windows cannot save a file under.
    .replace(/[<>:"|?*]/g, "_")
    .replace(/\s+/g, " ")
    .trim()
    // No hidden files, no "." or "..".
    .replace(/^\.+/, "")
    .trim();
  if (name.length > MAX_FILENAME_LENGTH) {
    const ext = /\.[A-Za-z0-9]{1,10}$/.exec(name)?.[0] ?? "";
    name = name.slice(0, MAX_FILENAME_LENGTH - ext.length) + ext;
  }
  return name;
}

/** For a file that came without a usable name. */
export const fallbackFilename = (contentType: string) => `attachment.${extensionFor(contentType)}`;
