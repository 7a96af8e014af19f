// What a key of each scope may call, in one table (as Resend's `sending_access` / `full_access`).
// A `sending` key is what an application should hold: it sends, uploads attachments and reads
// back the emails and batches it sent, and nothing else. Everything not granted here needs `full`: a route
// added later is closed to sending keys until it is listed, never open by omission.
import type { ApiKeyScope } from "../db";
import { PosthornError } from "../errors";

export type { ApiKeyScope };
export const API_KEY_SCOPES = ["sending", "full"] as const satisfies readonly ApiKeyScope[];

/** A method and a path pattern; `:name` matches one path segment. */
type Grant = readonly [method: string, pattern: string];

const SENDING_GRANTS: readonly Grant[] = [
  ["POST", "/v1/emails"],
  ["POST", "/v1/emails/batch"],
  ["GET", "/v1/emails"],
  ["GET", "/v1/emails/:id"],
  ["GET", "/v1/emails/:id/engagement"],
  ["POST", "/v1/emails/:id/cancel"],
  ["GET", "/v1/batches/:id"],
  ["POST", "/v1/attachments"],
  ["GET", "/v1/me"],
];

const compile = ([method, pattern]: Grant) => ({
  method,
  path: new RegExp(`^${pattern.replace(/:[a-z_]+/g, "[^/]+")}/?$`),
});
const SENDING = SENDING_GRANTS.map(compile);

/** Whether a key of `scope` may call `method path`. */
export function scopeAllows(scope: ApiKeyScope, method: string, path: string): boolean {
  if (scope === "full") return true;
  const m = method === "HEAD" ? "GET" : method;
  return SENDING.some((g) => g.method === m && g.path.test(path));
}

/** The scope a route needs: `sending` when a sending key may call it, else `full`. */
export function scopeNeeded(method: string, path: string): ApiKeyScope {
  return scopeAllows("sending", method, path) ? "sending" : "full";
}

/** Throws 403 insufficient_scope, naming the scope needed, when the key may not call the route. */
export function requireScope(scope: ApiKeyScope, method: string, path: string): void {
  if (scopeAllows(scope, method, path)) return;
  throw new PosthornError(
    "insufficient_scope",
    `This API key has the \`${scope}\` scope; ${method} ${path} needs a key with the \`full\` scope.`,
    {
      members: { required_scope: "full", key_scope: scope },
      headers: { "WWW-Authenticate": 'Bearer error="insufficient_scope", scope="full"' },
    },
  );
}

/** The key whose emails (and batches) alone a key may see: itself for a `sending` key, any (undefined) for `full`. */
export function ownEmailsOnly(key: { id: string; scope: ApiKeyScope }): string | undefined {
  return key.scope === "sending" ? key.id : undefined;
}
