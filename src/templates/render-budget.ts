// Bounds on what rendering a template may cost, enforced while it renders (Handlebars is
// synchronous on the main thread, which also serves the API and runs the queue). Without them,
// `{{#each @root.a}}` nested five deep over 25 items took 0.57 s and four deep over 60 produced
// 13 MB, and a batch multiplied that by 1,000. Every step (a block's iteration or branch, a
// `{{value}}`, a `lookup`) is counted, and so is every byte of output; the render is stopped with
// RenderLimitError as soon as either runs out, so an abusive template costs milliseconds.
import type Handlebars from "handlebars";

/** Steps one email's template (subject, html and text together) may take. */
export const MAX_RENDER_STEPS = 100_000;
/** Steps all the emails of one request (a batch of 1,000) may take together. */
export const MAX_REQUEST_RENDER_STEPS = 1_000_000;

/** What one request may spend on rendering; a batch shares one, a single send has its own. */
export class RenderBudget {
  /** Steps left for the whole request. */
  steps = MAX_REQUEST_RENDER_STEPS;
  /** @param maxPartBytes the largest rendered part (POSTHORN_CONTENT_MAX_BYTES), in UTF-8 bytes. */
  constructor(readonly maxPartBytes: number) {}
}

/** Why a render was stopped: a limit, named for the tenant, not a mistake in the template. */
export class RenderLimitError extends Error {
  override name = "RenderLimitError";
}

interface Frame {
  /** Output of the blocks run directly inside this one. */
  childBytes: number;
  /** Bytes of values inserted directly in this block so far (a lower bound on its own output). */
  pendingBytes: number;
}

/** The render in progress: rendering is synchronous, so there is at most one at a time. */
interface ActiveRender {
  budget: RenderBudget;
  /** Steps left for this email. */
  email: { steps: number };
  /** A lower bound on the output so far, checked against budget.maxPartBytes on every insert. */
  liveBytes: number;
  frames: Frame[];
  /** The last value counted as output: a block helper given it as its argument refunds it. */
  last: { value: unknown; bytes: number } | undefined;
}

let active: ActiveRender | undefined;

function step(r: ActiveRender): void {
  if (--r.email.steps < 0) {
    throw new RenderLimitError(`rendering stopped after ${MAX_RENDER_STEPS} steps, the most one email may take`);
  }
  if (--r.budget.steps < 0) {
    throw new RenderLimitError(
      `rendering stopped after ${MAX_REQUEST_RENDER_STEPS} steps, the most the emails of one request may take together`,
    );
  }
}

function addBytes(r: ActiveRender, bytes: number): void {
  r.liveBytes += bytes;
  r.frames[r.frames.length - 1]!.pendingBytes += bytes;
  // UTF-16 length never exceeds UTF-8 bytes, so this never stops a render that fits.
  if (r.liveBytes > r.budget.maxPartBytes) throw tooLarge(r.budget.maxPartBytes);
}

export const tooLarge = (max: number) =>
  new RenderLimitError(`renders to more than ${max} bytes (POSTHORN_CONTENT_MAX_BYTES)`);

/** A non-string as Handlebars would print it (`"" + value`), counted as it is built. */
function countedString(r: ActiveRender, value: unknown): string {
  if (!Array.isArray(value)) return "[object Object]";
  const parts: string[] = [];
  for (const item of value) {
    step(r);
    const s =
      item === null || item === undefined ? "" : typeof item === "object" ? countedString(r, item) : String(item);
    addBytes(r, s.length);
    parts.push(s);
  }
  return parts.join(",");
}

/** Counts a value about to be inserted; arrays and objects are counted only when printed. */
function countOutput(value: unknown): unknown {
  const r = active;
  if (!r) return value;
  step(r);
  if (value !== null && typeof value === "object") {
    return new Proxy(value, {
      get: (target, prop, receiver) =>
        prop === Symbol.toPrimitive ? () => countedString(r, target) : Reflect.get(target, prop, receiver),
    });
  }
  const bytes = typeof value === "string" ? value.length : value === null || value === undefined ? 0 : 8;
  addBytes(r, bytes);
  r.last = { value, bytes };
  return value;
}

type Program = ((this: unknown, context: unknown, options?: unknown) => string) & { counted?: true };

/** A block's body (or its `else`) that counts a step per run and keeps exact count of its output. */
function countedProgram(fn: Program | undefined): Program | undefined {
  if (typeof fn !== "function" || fn.counted) return fn;
  const counted: Program = function (this: unknown, context, options) {
    const r = active;
    if (!r) return fn.call(this, context, options);
    step(r);
    const frame: Frame = { childBytes: 0, pendingBytes: 0 };
    r.frames.push(frame);
    let out: string;
    try {
      out = fn.call(this, context, options);
    } finally {
      r.frames.pop();
    }
    const bytes = typeof out === "string" ? out.length : 0;
    // What this run added itself, beyond what its own blocks produced (already counted).
    r.liveBytes += bytes - frame.childBytes - frame.pendingBytes;
    r.frames[r.frames.length - 1]!.childBytes += bytes;
    if (r.liveBytes > r.budget.maxPartBytes) throw tooLarge(r.budget.maxPartBytes);
    return out;
  };
  counted.counted = true;
  return Object.assign(counted, fn);
}

type Helper = (this: unknown, ...args: unknown[]) => unknown;

function countedBlockHelper(helper: Helper): Helper {
  return function (this: unknown, ...args: unknown[]) {
    const r = active;
    if (r) {
      step(r);
      // `{{#items}}` gets its argument through the same path as a printed value: not output.
      if (r.last && args.length > 1 && r.last.value === args[0]) {
        r.liveBytes -= r.last.bytes;
        r.frames[r.frames.length - 1]!.pendingBytes -= r.last.bytes;
        r.last = undefined;
      }
      const options = args[args.length - 1] as { fn?: Program; inverse?: Program };
      options.fn = countedProgram(options.fn);
      options.inverse = countedProgram(options.inverse);
    }
    return helper.apply(this, args);
  };
}

/**
 * Makes every render in `hb` countable: the block helpers count their runs, `lookup` and every
 * `{{value}}` count their output. Outside renderWithin nothing is counted.
 */
export function countRendersIn(hb: typeof Handlebars): void {
  const helpers = hb.helpers as Record<string, Helper>;
  for (const name of ["each", "if", "unless", "with", "blockHelperMissing"]) {
    hb.registerHelper(name, countedBlockHelper(helpers[name]!));
  }
  const lookup = helpers.lookup!;
  hb.registerHelper("lookup", function (this: unknown, ...args: unknown[]) {
    return countOutput(lookup.apply(this, args));
  });
  // Every `{{value}}` passes through the compiled template's container.lambda; the container is
  // made once per compiled template and handed to its main program, where we count it in.
  const template = hb.template.bind(hb);
  hb.template = ((spec: { main: (container: { lambda: Helper; counted?: true }, ...rest: unknown[]) => string }) => {
    const main = spec.main;
    spec.main = function (this: unknown, container, ...rest) {
      if (!container.counted) {
        const lambda = container.lambda;
        container.lambda = (current, context) => countOutput(lambda(current, context));
        container.counted = true;
      }
      return main.call(this, container, ...rest);
    };
    return template(spec as never);
  }) as typeof hb.template;
}

/** Runs `render` counted against the request's budget and the email's step allowance. */
export function renderWithin(budget: RenderBudget, email: { steps: number }, render: () => string): string {
  const root: Frame = { childBytes: 0, pendingBytes: 0 };
  active = { budget, email, liveBytes: 0, frames: [root], last: undefined };
  try {
    const out = render();
    if (out.length > budget.maxPartBytes / 3 && Buffer.byteLength(out, "utf8") > budget.maxPartBytes) {
      throw tooLarge(budget.maxPartBytes);
    }
    return out;
  } finally {
    active = undefined;
  }
}
