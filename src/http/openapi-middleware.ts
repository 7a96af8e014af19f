// Says in the OpenAPI document what the middleware in front of the routes adds to every answer
// (src/app.ts): the request id on each response, the body checks on each request with a body,
// the 503 of a database that does not answer and the 500 of a bug. One place, applied to every
// operation, so no route can forget them.

type Header = { $ref: string } | Record<string, unknown>;
type Response = { description: string; headers?: Record<string, Header>; content?: unknown };
type Operation = { requestBody?: { content?: Record<string, unknown> }; responses?: Record<string, Response> };
type Document = { paths?: Record<string, Record<string, Operation>> };

const METHODS = new Set(["get", "head", "put", "post", "patch", "delete"]);
const header = (name: string) => ({ $ref: `#/components/headers/${name}` });
const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
});

const UNEXPECTED = problem(
  "An unexpected error (a bug): the problem carries the request id to report, and nothing is half-done.",
);
const UNAVAILABLE = problem(
  "Temporarily unavailable (e.g. the database does not answer); Retry-After says when to try again.",
);
const MALFORMED = problem(
  "Malformed request: the body is not JSON (`malformed_json`), or the URL or a text field holds a NUL character (`bad_request`).",
);
const BAD_URL = problem("The URL holds a NUL character, %00 (`bad_request`).");
const TOO_LARGE = problem("Request body too large (`payload_too_large`, POSTHORN_BODY_LIMIT).");
const NOT_JSON = problem("The body is not JSON by its Content-Type (`unsupported_media_type`).");

export function describeMiddleware<D>(doc: D): D {
  for (const [path, item] of Object.entries((doc as Document).paths ?? {})) {
    for (const [method, op] of Object.entries(item)) {
      if (!METHODS.has(method)) continue;
      op.responses ??= {};
      const add = (status: string, response: Response) => {
        op.responses![status] ??= structuredClone(response);
      };
      // /v1: no NUL in the URL; body limit and JSON content type on every request with a body.
      if (path.startsWith("/v1/") && (method === "post" || method === "put" || method === "patch")) {
        if (op.requestBody?.content?.["application/json"]) add("400", MALFORMED);
        add("400", BAD_URL);
        add("413", TOO_LARGE);
        add("415", NOT_JSON);
      }
      if (path.startsWith("/v1/")) add("400", BAD_URL);
      // Everything but liveness reads the database.
      if (path !== "/health") add("503", UNAVAILABLE);
      add("500", UNEXPECTED);
      for (const [status, response] of Object.entries(op.responses)) {
        response.headers = { "X-Request-Id": header("X-Request-Id"), ...response.headers };
        if (status === "429" || status === "503") response.headers["Retry-After"] ??= header("Retry-After");
      }
    }
  }
  return doc;
}
