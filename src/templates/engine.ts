// Handlebars, the syntax SendGrid's and Postmark's users already write: `{{name}}` is
// HTML-escaped in the html part, `{{{name}}}` inserts trusted HTML as is, and the subject and
// text parts are never HTML-escaped (they are not HTML). Only the built-in helpers exist (if,
// unless, each, with, lookup); partials and decorators are refused, so a template is checked
// completely when it is saved, with the line and column of any problem.
import Handlebars from "handlebars";
import { countRendersIn, type RenderBudget, RenderLimitError, renderWithin } from "./render-budget";

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
countRendersIn(hb);

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

/**
 * The most `{{…}}` expressions and blocks one part may hold. Handlebars compiles a part into one
 * long expression: 30,000 took 1.3 s to compile on the main thread, 70,000 ran out of memory.
 * 1,000 compile in about 0.1 s and are far more than a real email uses.
 */
export const MAX_TEMPLATE_EXPRESSIONS = 1_000;
/** Blocks inside blocks: compile time grows with depth (2,000 deep took 2.4 s); real emails nest a few. */
export const MAX_BLOCK_DEPTH = 20;
/** `{{` counted before parsing (a block has two, an `else` one more), so the parser never sees 70,000. */
const MAX_OPENINGS = 3 * MAX_TEMPLATE_EXPRESSIONS;

/**
 * What a linear scan tells before parsing (the parser is slow on deep nesting: 2,000 blocks deep
 * took seconds): how many `{{` there are and how deep `{{#…}}`/`{{^…}}` … `{{/…}}` nest.
 */
function scanOpenings(source: string): { openings: number; depth: number } {
  let openings = 0;
  let depth = 0;
  let deepest = 0;
  for (let i = source.indexOf("{{"); i !== -1 && openings <= MAX_OPENINGS; i = source.indexOf("{{", i + 2)) {
    openings++;
    let j = i + 2;
    if (source[j] === "~") j++;
    const c = source[j];
    if (c === "#" || (c === "^" && source[j + 1] !== "}" && source[j + 1] !== "~"))
      deepest = Math.max(deepest, ++depth);
    else if (c === "/") depth--;
  }
  return { openings, depth: deepest };
}

/**
 * The first node that stops a template from being saved: a partial or decorator (they would need
 * registrations Posthorn never makes) or the expression past MAX_TEMPLATE_EXPRESSIONS.
 */
function findUnsupported(node: AstNode | undefined, seen = { expressions: 0 }, depth = 0): AstNode | undefined {
  if (!node) return undefined;
  if (/^(Partial|Decorator)/.test(node.type)) return node;
  const block = node.type === "BlockStatement";
  if (block && depth >= MAX_BLOCK_DEPTH) return { ...node, type: "DeepBlock" };
  if ((block || node.type === "MustacheStatement") && ++seen.expressions > MAX_TEMPLATE_EXPRESSIONS) {
    return { ...node, type: "TooMany" };
  }
  for (const child of [...(node.body ?? []), node.program, node.inverse]) {
    const found = findUnsupported(child, seen, block ? depth + 1 : depth);
    if (found) return found;
  }
  return undefined;
}

const TOO_DEEP = `blocks are nested more than ${MAX_BLOCK_DEPTH} deep`;
const TOO_MANY = `has more than ${MAX_TEMPLATE_EXPRESSIONS} {{…}} expressions and blocks, the most one part may hold`;
const unsupportedMessage = (node: AstNode) =>
  node.type.startsWith("Partial")
    ? "partials are not supported"
    : node.type.startsWith("Decorator")
      ? "decorators are not supported"
      : node.type === "DeepBlock"
        ? TOO_DEEP
        : TOO_MANY;

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
  const scan = scanOpenings(source);
  if (scan.openings > MAX_OPENINGS) return { part, line: undefined, column: undefined, message: TOO_MANY };
  if (scan.depth > MAX_BLOCK_DEPTH) return { part, line: undefined, column: undefined, message: TOO_DEEP };
  try {
    const unsupported = findUnsupported(hb.parse(source) as unknown as AstNode);
    if (unsupported) {
      return {
        part,
        line: unsupported.loc?.start.line,
        column: unsupported.loc !== undefined ? unsupported.loc.start.column + 1 : undefined,
        message: unsupportedMessage(unsupported),
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

/** A render stopped by its budget, with the part it was rendering. */
export class TemplateLimitError extends Error {
  override name = "TemplateLimitError";
  constructor(
    readonly part: TemplatePart,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Renders one part with the variables, within the request's budget and the email's steps.
 * `strict`: a variable the template uses but the caller did not give is an error instead of
 * empty text. Throws TemplateError, or TemplateLimitError when the budget runs out.
 */
export function renderTemplatePart(
  cacheKey: string,
  part: TemplatePart,
  source: string,
  variables: Record<string, unknown>,
  strict: boolean,
  budget: { request: RenderBudget; email: { steps: number } },
): string {
  try {
    const template = compiledFor(cacheKey, part, source, strict);
    return renderWithin(budget.request, budget.email, () => template(variables));
  } catch (err) {
    if (err instanceof RenderLimitError) throw new TemplateLimitError(part, err.message);
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
