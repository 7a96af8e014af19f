// Schema failures as our one 422: each issue named by its field path (`to[0].email`). Used by
// the HTTP validator and by domain code that parses input itself, so both say the same thing.
import type { StandardSchemaV1 } from "@standard-schema/spec";
import * as v from "valibot";
import { type FieldIssue, PosthornError } from "./errors";

type IssuePath = StandardSchemaV1.Issue["path"];

/**
 * The largest whole number a limit or a version may be: it is stored in a Postgres `integer`
 * (up to 2,147,483,647), and 1e308 there was a 500 ("integer out of range") instead of a 422.
 */
export const MAX_STORED_INTEGER = 1_000_000_000;

export function fieldPath(path: IssuePath): string {
  let out = "";
  for (const seg of path ?? []) {
    const key = typeof seg === "object" && seg !== null ? seg.key : seg;
    out += typeof key === "number" ? `[${key}]` : out ? `.${String(key)}` : String(key);
  }
  return out || "body";
}

export function toFieldIssues(issues: readonly StandardSchemaV1.Issue[]): FieldIssue[] {
  return issues.map((i) => ({ field: fieldPath(i.path), message: i.message }));
}

export function validationError(issues: FieldIssue[]): PosthornError {
  const first = issues[0];
  const detail = first ? `${first.field}: ${first.message}` : "The request is not valid.";
  return new PosthornError(
    "validation_failed",
    issues.length > 1 ? `${detail} (and ${issues.length - 1} more)` : detail,
    { issues },
  );
}

/** Parses `input` with a valibot schema, or throws the 422 naming each failing field. */
export function parseOrThrow<S extends v.GenericSchema>(schema: S, input: unknown): v.InferOutput<S> {
  const result = v.safeParse(schema, input);
  if (result.success) return result.output;
  throw validationError(toFieldIssues(result.issues as unknown as StandardSchemaV1.Issue[]));
}

/**
 * A shape the OpenAPI document names: it becomes `components.schemas.<name>`, referenced by
 * `$ref` wherever it is used, so a generated client has a type of that name. The example (what a
 * client sends, or gets) is checked against the shape by the compiler.
 */
export const named = <S extends v.GenericSchema>(name: string, schema: S, example?: v.InferInput<S>) =>
  v.pipe(schema, v.metadata({ ref: name, ...(example === undefined ? {} : { examples: [example] }) }));

/** A whole number, documented as `integer`. */
export const Integer = v.pipe(v.number(), v.integer());

/** A moment in time, RFC 3339 in UTC (`2026-12-02T17:00:00.000Z`), documented as `date-time`. */
export const Timestamp = v.pipe(v.string(), v.isoTimestamp());

/**
 * A whole number in a query string or a path (`?limit=5`): documented as `integer`, so a
 * generated client takes a number, and parsed from the text it arrives as.
 */
export const IntegerParam = (min: number, max: number) =>
  v.pipe(
    v.string(),
    // A check, not a regex: it is about the text, and the document describes the number.
    v.check((text) => /^\d{1,10}$/.test(text), "must be a whole number"),
    v.toNumber(),
    v.integer(),
    v.minValue(min),
    v.maxValue(max),
  );
