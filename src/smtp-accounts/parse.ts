// Runs an input schema in the domain, so a write from any caller (API, CLI) obeys the same
// rules; failures become the same 422 the HTTP validator gives, naming each field.
import * as v from "valibot";
import { type FieldIssue, PosthornError } from "../errors";

function fieldOf(issue: v.BaseIssue<unknown>): string {
  let out = "";
  for (const item of issue.path ?? []) {
    const key = item.key;
    out += typeof key === "number" ? `[${key}]` : out ? `.${String(key)}` : String(key);
  }
  return out || "body";
}

export function parseOrThrow<S extends v.GenericSchema>(schema: S, input: unknown): v.InferOutput<S> {
  const result = v.safeParse(schema, input);
  if (result.success) return result.output;
  const issues: FieldIssue[] = result.issues.map((i) => ({ field: fieldOf(i), message: i.message }));
  const first = issues[0]!;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  throw new PosthornError("validation_failed", `${first.field}: ${first.message}${more}`, { issues });
}
