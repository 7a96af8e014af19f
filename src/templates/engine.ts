// Handlebars, the syntax SendGrid's and Postmark's users already write: `{{name}}` is
// HTML-escaped in the html part, `{{{name}}}` inserts trusted HTML as is, and the subject and
// text parts are never HTML-escaped (they are not HTML). Only the built-in helpers exist (if,
// unless, each, with, lookup); partials and decorators are refused, so a template is checked
// completely when it is saved, with the line and column of any problem.
import Handlebars from "handlebars";

export type TemplatePart = "subject" | "html" | "text";

/** Where and why a template does not compile or render (line and column count from 1). */
export interface TemplateProblem {
  part: TemplatePart;
  line: number | undefined;
  column: number | undefined;
  message: string;
}

export class TemplateError extends Error {
  override name = "TemplateError";
  constructor(readonly problem: TemplateProblem) {
    super(problem.message);
  }
}

const hb = Handlebars.create();
// `{{log}}` would write tenants' data to the server's console.
hb.unregisterHelper("log");

// Handlebars' generated parser throws a bare Error and keeps the location of a syntax error only
// in a side argument; keep it, so a tenant is told where the mistake is. (The parser is one object
// shared by every Handlebars environment in the process; Posthorn is its only user.)
const parser = (Handlebars as unknown as { Parser: { parseError: (message: string, hash?: unknown) => never } }).Parser;
parser.parseError = (message: string, hash?: unknown) => {
  const loc = (hash as { loc?: { first_line: number; first_column: number } } | undefined)?.loc;
  throw Object.assign(new Error(message), { lineNumber: loc?.first_line, column: loc?.first_column });
};

const compileOptions = (part: TemplatePart, strict: boolean): CompileOptions => ({
  noEscape: part !== "html",
  strict,
  knownHelpersOnly: true,
  knownHelpers: { log: false },
});

interface AstNode {
  type: string;
  loc?: { start: { line: number; column: number } };
  body?: AstNode[];
  program?: AstNode;
  inverse?: AstNode;
}

/** Partials and decorators would need registrations Posthorn never makes: refuse them up front. */
function findUnsupported(node: AstNode | undefined): AstNode | undefined {
  if (!node) return undefined;
  if (/^(Partial|Decorator)/.test(node.type)) return node;
  for (const child of [...(node.body ?? []), node.program, node.inverse]) {
    const found = findUnsupported(child);
    if (found) return found;
  }
  return undefined;
}

/** Handlebars' message without its trailing " - line:column", which we report as fields. */
function problemFrom(part: TemplatePart, err: unknown): TemplateProblem {
  const e = err as { message?: string; lineNumber?: number; column?: number };
  const firstLine = (e.message ?? String(err)).split("\n")[0] ?? "";
  let message = firstLine.replace(/ - \d+:\d+$/, "");
  if (/^(Parse|Lexical) error on line/.test(message)) {
    const got = /got '([^']+)'/.exec(e.message ?? "")?.[1];
    message =
      got === "INVALID"
        ? "syntax error: a {{…}} is not closed properly"
        : got === "EOF"
          ? "syntax error: the template ends inside an unfinished {{…}} or block"
          : `syntax error${got ? `: unexpected ${got.toLowerCase().replaceAll("_", " ")}` : ""}`;
  }
  return {
    part,
    line: e.lineNumber,
    column: e.column !== undefined ? e.column + 1 : undefined,
    message: message.replace(/^You specified knownHelpersOnly, but used the /, "uses an "),
  };
}

/** The first problem that stops `source` from compiling, or undefined when it compiles. */
export function checkTemplateSource(part: TemplatePart, source: string): TemplateProblem | undefined {
  try {
    const unsupported = findUnsupported(hb.parse(source) as unknown as AstNode);
    if (unsupported) {
      return {
        part,
        line: unsupported.loc?.start.line,
        column: unsupported.loc !== undefined ? unsupported.loc.start.column + 1 : undefined,
        message: `${unsupported.type.startsWith("Partial") ? "partials" : "decorators"} are not supported`,
      };
    }
    hb.precompile(source, compileOptions(part, false));
    return undefined;
  } catch (err) {
    return problemFrom(part, err);
  }
}

/** Compiled templates by (template, version, part, strictness); versions never change, so entries never go stale. */
const compiled = new Map<string, HandlebarsTemplateDelegate>();
const COMPILED_CACHE_SIZE = 1000;

function compiledFor(cacheKey: string, part: TemplatePart, source: string, strict: boolean) {
  const key = `${cacheKey}:${part}:${strict ? 1 : 0}`;
  let fn = compiled.get(key);
  if (fn) return fn;
  fn = hb.compile(source, compileOptions(part, strict));
  if (compiled.size >= COMPILED_CACHE_SIZE) compiled.delete(compiled.keys().next().value as string);
  compiled.set(key, fn);
  return fn;
}

/**
 * Renders one part with the variables. `strict`: a variable the template uses but the caller did
 * not give is an error instead of empty text. Throws TemplateError.
 */
export function renderTemplatePart(
  cacheKey: string,
  part: TemplatePart,
  source: string,
  variables: Record<string, unknown>,
  strict: boolean,
): string {
  try {
    return compiledFor(cacheKey, part, source, strict)(variables);
  } catch (err) {
    const problem = problemFrom(part, err);
    const missing = /^"(.+)" not defined in/.exec(problem.message);
    if (missing) problem.message = `variable "${missing[1]}" is not given`;
    throw new TemplateError(problem);
  }
}

/** "html, line 3, column 7: …" */
export function describeProblem(p: TemplateProblem): string {
  const where = p.line !== undefined ? `, line ${p.line}${p.column !== undefined ? `, column ${p.column}` : ""}` : "";
  return `${p.part}${where}: ${p.message}`;
}
