// Request validation with valibot schemas through hono-openapi: the same schema validates the
// request and documents it in /openapi.json. Failures become 422 problem+json naming each field.
import type { StandardSchemaV1 } from "@standard-schema/spec";
import type { ValidationTargets } from "hono";
import { validator } from "hono-openapi";
import { toFieldIssues, validationError } from "../validation";

function validated<S extends StandardSchemaV1, T extends keyof ValidationTargets>(target: T, schema: S) {
  return validator(target, schema, (result) => {
    if (!result.success) throw validationError(toFieldIssues(result.error));
  });
}

export const jsonBody = <S extends StandardSchemaV1>(schema: S) => validated("json", schema);
export const queryParams = <S extends StandardSchemaV1>(schema: S) => validated("query", schema);
