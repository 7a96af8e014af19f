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
