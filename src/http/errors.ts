// The one place errors become HTTP: RFC 9457 application/problem+json with a stable `code`.
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { databaseErrorAsProblem } from "../db";
import { type ErrorCode, PosthornError } from "../errors";
import type { Logger } from "../logger";
import type { AppEnv } from "./env";
import { loggablePath } from "./middleware/request-log";

const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  validation_failed: 422,
  template_render_limit: 422,
  malformed_json: 400,
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  insufficient_scope: 403,
  not_found: 404,
  route_not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  idempotency_conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  quota_exceeded: 429,
  unavailable: 503,
  internal: 500,
};

const TITLE: Record<ErrorCode, string> = {
  validation_failed: "Validation failed",
  template_render_limit: "Template render limit reached",
  malformed_json: "Malformed JSON",
  bad_request: "Bad request",
  unauthorized: "Unauthorized",
  forbidden: "Forbidden",
  insufficient_scope: "Insufficient scope",
  not_found: "Not found",
  route_not_found: "No such route",
  method_not_allowed: "Method not allowed",
  conflict: "Conflict",
  idempotency_conflict: "Idempotency key reused with a different request",
  payload_too_large: "Payload too large",
  unsupported_media_type: "Unsupported media type",
  quota_exceeded: "Quota exceeded",
  unavailable: "Service unavailable",
  internal: "Internal error",
};

export const statusOf = (code: ErrorCode) => STATUS[code];

/** Errors from Hono itself (malformed JSON, …) expressed as our own. */
function fromHttpException(err: HTTPException): PosthornError {
  if (err.status === 400 && /JSON/i.test(err.message)) {
    return new PosthornError("malformed_json", "The request body is not valid JSON.");
  }
  if (err.status === 413)
    return new PosthornError("payload_too_large", err.message || "The request body is too large.");
  if (err.status === 401) return new PosthornError("unauthorized", err.message || "Unauthorized.");
  return new PosthornError(err.status >= 500 ? "internal" : "bad_request", err.message || "Bad request.");
}

export function problemResponse(c: Context<AppEnv>, error: PosthornError): Response {
  const status = STATUS[error.code];
  const issues = error.extra.issues;
  const body = {
    type: `urn:posthorn:problem:${error.code}`,
    title: TITLE[error.code],
    status,
    detail: error.message,
    instance: c.req.path,
    code: error.code,
    request_id: c.get("requestId"),
    ...error.extra.members,
    ...(issues?.length ? { field: issues[0]?.field, errors: issues } : {}),
  };
  const headers: Record<string, string> = { "Content-Type": "application/problem+json", ...error.extra.headers };
  if (error.extra.retryAfterSeconds !== undefined) headers["Retry-After"] = String(error.extra.retryAfterSeconds);
  return c.body(JSON.stringify(body), status, headers);
}

/** `app.onError`: every thrown thing ends here. */
export function errorHandler(log: Logger) {
  return function onError(err: Error, c: Context<AppEnv>): Response {
    if (err instanceof PosthornError) return problemResponse(c, err);
    if (err instanceof HTTPException) return problemResponse(c, fromHttpException(err));
    const fromDatabase = databaseErrorAsProblem(err);
    if (fromDatabase) {
      if (fromDatabase.code === "unavailable")
        (c.get("log") ?? log).warn("database unavailable", { err, path: loggablePath(c.req.path) });
      return problemResponse(c, fromDatabase);
    }
    (c.get("log") ?? log).error("unhandled error", { err, path: loggablePath(c.req.path) });
    return problemResponse(
      c,
      new PosthornError("internal", "Something went wrong on our side; the request id helps find it in the logs."),
    );
  };
}

export function notFoundHandler(c: Context<AppEnv>): Response {
  return problemResponse(c, new PosthornError("route_not_found", `No route for ${c.req.method} ${c.req.path}.`));
}
