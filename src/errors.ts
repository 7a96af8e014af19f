// Errors are values with a stable code. Domain code throws these; src/http/errors.ts alone
// turns them into RFC 9457 problem+json responses.

export type ErrorCode =
  | "validation_failed"
  | "template_render_limit"
  | "malformed_json"
  | "bad_request"
  | "unauthorized"
  | "forbidden"
  | "insufficient_scope"
  | "not_found"
  | "route_not_found"
  | "method_not_allowed"
  | "conflict"
  | "idempotency_conflict"
  | "payload_too_large"
  | "unsupported_media_type"
  | "quota_exceeded"
  | "unavailable"
  | "internal";

export interface FieldIssue {
  /** Path of the offending field, e.g. `to[0].email`. */
  field: string;
  message: string;
}

export class PosthornError extends Error {
  override name = "PosthornError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: {
      issues?: FieldIssue[];
      /** Seconds until the request may succeed (429/503). */
      retryAfterSeconds?: number;
      headers?: Record<string, string>;
      /** Extension members of the problem document (RFC 9457 §3.2), e.g. `required_scope`. */
      members?: Record<string, string>;
    } = {},
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new PosthornError("not_found", `${what} not found`);

export const validationFailed = (field: string, message: string) =>
  new PosthornError("validation_failed", `${field}: ${message}`, { issues: [{ field, message }] });

export const conflict = (message: string) => new PosthornError("conflict", message);
