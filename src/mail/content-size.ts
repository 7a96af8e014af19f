// How large an email's text and html may be: POSTHORN_CONTENT_MAX_BYTES of UTF-8 each, as given
// or as a template renders them. Without a bound, a few requests of large bodies were enough to
// fill the server's memory (every list page and every claim loads them whole).
import { SETTINGS } from "../config";
import { validationFailed } from "../errors";

/** For the OpenAPI document, whose schemas are static: the limit by its setting and default. */
export const CONTENT_MAX_DOC = `At most POSTHORN_CONTENT_MAX_BYTES of UTF-8 (default ${SETTINGS.contentMaxBytes.default}).`;

/** Why `text` is too large to be one part of an email, or undefined when it fits. */
export function contentSizeProblem(text: string, maxBytes: number): string | undefined {
  // A UTF-16 unit is 1 to 3 bytes of UTF-8: most texts are decided by their length alone.
  if (text.length * 3 <= maxBytes) return undefined;
  if (text.length <= maxBytes && Buffer.byteLength(text, "utf8") <= maxBytes) return undefined;
  return `must be at most ${maxBytes} bytes of UTF-8 (POSTHORN_CONTENT_MAX_BYTES)`;
}

/** Throws the 422 naming `text` or `html` when either is larger than `maxBytes`. */
export function refuseOversizedContent<T extends { text: string | null; html: string | null }>(
  content: T,
  maxBytes: number,
): T {
  for (const field of ["text", "html"] as const) {
    const value = content[field];
    const problem = value === null ? undefined : contentSizeProblem(value, maxBytes);
    if (problem) throw validationFailed(field, problem);
  }
  return content;
}
