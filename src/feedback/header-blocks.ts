// The machine-readable parts of reports (message/delivery-status, message/feedback-report) and
// a returned message's header section are header fields — RFC 5322 syntax, folding included —
// in blocks separated by blank lines. mailparser keeps those parts raw, so they are read here:
// split on blank lines, then each block through mailsplit's header parser (the one mailparser
// itself uses), never with regexes over the whole message. Every count and length is bounded.
import { Headers } from "@zone-eu/mailsplit";

/** A DSN has one block per recipient; more than this is not a report we will read to the end. */
export const MAX_BLOCKS = 1000;
/** Fields kept per block: a per-recipient block has about ten. */
export const MAX_FIELDS_PER_BLOCK = 100;
/** Fields kept of a message's own header section (a long Received chain has a few dozen). */
export const MAX_FIELDS_PER_MESSAGE = 1000;
/** A field value longer than this is cut (a Diagnostic-Code is a line or two). */
export const MAX_FIELD_CHARS = 2000;

/** One block's fields by lower-case name, in order; each value unfolded and trimmed. */
export class FieldBlock {
  readonly #fields = new Map<string, string[]>();

  /** From header lines already split (mailparser's `headerLines`: `{ key, line }`, line with its name). */
  static fromLines(lines: readonly { key: string; line: string }[]): FieldBlock {
    const block = new FieldBlock();
    for (const { key, line } of lines.slice(0, MAX_FIELDS_PER_MESSAGE)) addLine(block, key, line);
    return block;
  }

  add(name: string, value: string): void {
    const list = this.#fields.get(name);
    if (list) list.push(value);
    else this.#fields.set(name, [value]);
  }

  get size(): number {
    return this.#fields.size;
  }

  /** The first value of a field (case-insensitive name), or undefined when absent or empty. */
  get(name: string): string | undefined {
    return this.#fields.get(name.toLowerCase())?.find((v) => v !== "");
  }

  all(name: string): string[] {
    return this.#fields.get(name.toLowerCase()) ?? [];
  }
}

/** The blocks of a report part, each parsed as a header section; empty blocks are dropped. */
export function parseFieldBlocks(text: string): FieldBlock[] {
  const blocks: FieldBlock[] = [];
  let lines: string[] = [];
  const flush = () => {
    if (lines.length > 0 && blocks.length < MAX_BLOCKS) {
      const block = parseFieldBlock(lines.join("\r\n"));
      if (block.size > 0) blocks.push(block);
    }
    lines = [];
  };
  for (const line of text.split(/\r?\n|\r/)) {
    if (line.trim() === "") flush();
    else lines.push(line);
    if (blocks.length >= MAX_BLOCKS) break;
  }
  flush();
  return blocks;
}

/** A header section (up to its first blank line) as fields. */
export function parseHeaderSection(raw: string): FieldBlock {
  const end = raw.search(/\r?\n[ \t]*\r?\n/);
  return parseFieldBlock(end >= 0 ? raw.slice(0, end) : raw);
}

function parseFieldBlock(text: string): FieldBlock {
  const block = new FieldBlock();
  // Buffer in: mailsplit decodes the bytes as UTF-8 where they are valid, as latin1 otherwise.
  const lines = new Headers(Buffer.from(text, "utf8")).getList();
  for (const { key, line } of lines.slice(0, MAX_FIELDS_PER_BLOCK)) addLine(block, key, line);
  return block;
}

function addLine(block: FieldBlock, key: string, line: string): void {
  const colon = line.indexOf(":");
  if (!key || colon < 0 || /\s/.test(key)) return;
  const value = line
    .slice(colon + 1, colon + 1 + MAX_FIELD_CHARS * 2)
    .replace(/\r?\n[ \t]*/g, " ")
    .trim();
  block.add(key.toLowerCase(), value.length > MAX_FIELD_CHARS ? value.slice(0, MAX_FIELD_CHARS) : value);
}
