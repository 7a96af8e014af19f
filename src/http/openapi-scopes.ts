// Says in the OpenAPI document which API key scope each tenant operation needs, from the same
// table the auth middleware enforces (src/api-keys/scopes.ts), so the two cannot disagree.
import { scopeNeeded } from "../api-keys";

type Response = { description: string; content?: unknown };
type Operation = {
  security?: Record<string, string[]>[];
  description?: string;
  responses?: Record<string, Response>;
  [k: string]: unknown;
};
type Document = { paths?: Record<string, Record<string, Operation>> };

const METHODS = new Set(["get", "put", "post", "patch", "delete", "head", "options"]);

/**
 * Adds `x-posthorn-scope` and a sentence to every operation authenticated by a tenant key, and
 * the 403 a `sending` key gets to those that need `full` (the same problem+json as the 401).
 */
export function describeScopes<D>(doc: D): D {
  for (const [path, item] of Object.entries((doc as Document).paths ?? {})) {
    for (const [method, op] of Object.entries(item)) {
      if (!METHODS.has(method) || !op.security?.some((s) => "ApiKey" in s)) continue;
      const scope = scopeNeeded(method.toUpperCase(), path);
      op["x-posthorn-scope"] = scope;
      const needs =
        scope === "full"
          ? "Needs an API key with the `full` scope (a `sending` key gets 403 `insufficient_scope`)."
          : "Allowed to `sending` and `full` keys; a `sending` key sees only the emails it sent.";
      op.description = op.description ? `${op.description}\n\n${needs}` : needs;
      const unauthorized = op.responses?.["401"];
      if (scope === "full" && op.responses && unauthorized && !op.responses["403"]) {
        op.responses["403"] = {
          description: "The API key has the `sending` scope; this needs `full` (`insufficient_scope`).",
          content: unauthorized.content,
        };
      }
    }
  }
  return doc;
}
