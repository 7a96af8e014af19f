// Request validation with valibot schemas through hono-openapi: the same schema validates the
// request and documents it in /openapi.json. Failures become 422 problem+json naming each field.
import type { StandardSchemaV1 } from "@standard-schema/spec";
import type { ValidationTargets } from "hono";
import { validator } from "hono-openapi";
import { type FieldIssue, PosthornError } from "../errors";

function fieldPath(path: StandardSchemaV1.Issue["path"]): string {
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
    {
      issues,
    },
  );
}

function validated<S extends StandardSchemaV1, T extends keyof ValidationTargets>(target: T, schema: S) {
  return validator(target, schema, (result) => {
    if (!result.success) throw validationError(toFieldIssues(result.error));
  });
}

export const jsonBody = <S extends StandardSchemaV1>(schema: S) => validated("json", schema);
export const queryParams = <S extends StandardSchemaV1>(schema: S) => validated("query", schema);
