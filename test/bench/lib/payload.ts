// The messages every benchmark sends, built once here so the product and each baseline get the
// same bytes: a ~2 KB plain-text email (the unit), and a 20 KB HTML email with one
// attachment. If the product's request shapes change (batch envelope, attachment fields),
// this is the one file to adjust.
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export const FROM = "bench@example.com";
export const TO = "rcpt@example.com";
export const SUBJECT = "Posthorn benchmark: your order has shipped";

/** `bytes` of readable text in 72-character lines, like a real transactional email body. */
function filler(bytes: number, seed = "Thank you for your order. ") {
  const line = `${seed.repeat(Math.ceil(72 / seed.length)).slice(0, 71)}\n`;
  return line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes);
}

export const TEXT_2KB = filler(2048);

export const HTML_20KB = (() => {
  const head = "<!doctype html><html><body><table>";
  const tail = "</table></body></html>";
  const row = '<tr><td style="padding:4px">Item</td><td>1 × Widget</td><td>€ 9.99</td></tr>\n';
  const rows = row.repeat(Math.ceil((20 * 1024 - head.length - tail.length) / row.length));
  return `${head}${rows}${tail}`.slice(0, 20 * 1024 - tail.length) + tail;
})();

/**
 * A small but well-formed PDF (~10 KB): the product detects attachment types from the bytes
 * against an allowlist, so the attachment must really look like a document.
 */
export const ATTACHMENT_PDF = (() => {
  const stream = filler(9 * 1024, "BT /F1 12 Tf 72 712 Td (Invoice) Tj ET ");
  const body = [
    "%PDF-1.4",
    "1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj",
    "2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj",
    "3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >> endobj",
    `4 0 obj << /Length ${stream.length} >> stream\n${stream}\nendstream endobj`,
    "trailer << /Root 1 0 R >>",
    "%%EOF",
  ].join("\n");
  return Buffer.from(body, "latin1");
})();
export const ATTACHMENT_NAME = "invoice.pdf";
export const ATTACHMENT_TYPE = "application/pdf";

export type MessageKind = "text" | "html-attachment";

/** `POST /v1/emails` body (also what the bare baselines receive). */
export function emailRequest(kind: MessageKind = "text", from = FROM): Record<string, unknown> {
  if (kind === "text") return { from, to: [{ email: TO }], subject: SUBJECT, text: TEXT_2KB };
  return {
    from,
    to: [{ email: TO }],
    subject: SUBJECT,
    html: HTML_20KB,
    attachments: [
      { filename: ATTACHMENT_NAME, content: ATTACHMENT_PDF.toString("base64"), content_type: ATTACHMENT_TYPE },
    ],
  };
}

/** `POST /v1/emails/batch` body with `count` messages (the batch endpoint). */
export function batchRequest(count: number, kind: MessageKind = "text"): Record<string, unknown> {
  return { emails: Array.from({ length: count }, () => emailRequest(kind)) };
}

/** Writes a JSON body to `dir` for wrk's post-json.lua and returns its path. */
export function writeBodyFile(dir: string, name: string, body: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(body));
  return path;
}

/** nodemailer message options for the bare-pool baselines (composed by nodemailer per send). */
export function nodemailerMessage(kind: MessageKind): Record<string, unknown> {
  const base = { from: FROM, to: TO, subject: SUBJECT };
  if (kind === "text") return { ...base, text: TEXT_2KB };
  return {
    ...base,
    html: HTML_20KB,
    attachments: [{ filename: ATTACHMENT_NAME, content: ATTACHMENT_PDF, contentType: ATTACHMENT_TYPE }],
  };
}
