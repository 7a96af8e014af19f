// Every response the suite receives is checked against /openapi.json (status, headers, body) by
// openapi-backend, so a route cannot drift from its document: the shared test clients
// (test/helpers/app.ts in-process, test/helpers/http-client.ts over HTTP) call checkResponse.
import addFormats from "ajv-formats";
import OpenAPIBackend, { type Document, type Operation } from "openapi-backend";

type Responses = Record<
  string,
  { headers?: Record<string, { required?: boolean }>; content?: Record<string, unknown> }
>;

/** Headers whose presence is part of the contract: sent only where the document says so. */
const CONTRACT_HEADERS = [
  "ratelimit-limit",
  "ratelimit-remaining",
  "ratelimit-reset",
  "ratelimit-policy",
  "retry-after",
  "idempotent-replayed",
  "x-request-id",
  "content-disposition",
];

export class ContractViolation extends Error {
  override name = "ContractViolation";
}

let backend: Promise<OpenAPIBackend> | undefined;

/** openapi-backend over the document, built once per test process from the first app asked. */
function contractOf(fetchDocument: () => Promise<Response>): Promise<OpenAPIBackend> {
  backend ??= (async () => {
    const document = (await (await fetchDocument()).json()) as Document;
    const api = new OpenAPIBackend({
      definition: asJsonForValidation(document),
      // Quick mode skips openapi-backend's check of the document itself, which knows OpenAPI 3.0
      // only (test/http/docs.test.ts checks this one as 3.1 with @readme/openapi-parser).
      quick: true,
      strict: true,
      // `/v1/emails/` is not `/v1/emails`: the router answers it 404.
      ignoreTrailingSlashes: false,
      customizeAjv: (ajv) => {
        addFormats(ajv);
        // RFC 3339 as the API promises it: ajv-formats 2 also takes `2026-12-02 17:00:00`.
        ajv.addFormat("date-time", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/);
        // The document's own annotations, not validation keywords.
        ajv.addKeyword("example");
        ajv.addKeyword("x-posthorn-scope");
        return ajv;
      },
    });
    await api.init();
    // Compile every validator now, not on an operation's first response: a test that measures
    // the server's memory or time around one request must not measure ajv compiling.
    for (const { operationId } of api.router.getOperations()) {
      if (!operationId) continue;
      api.validator.getStatusBasedResponseValidatorForOperation(operationId);
      api.validator.getResponseHeadersValidatorForOperation(operationId);
    }
    return api;
  })();
  return backend;
}

/**
 * openapi-backend validates `application/json` bodies only: the checker's copy of the document
 * also offers each response's problem+json schema under that name.
 */
function asJsonForValidation(document: Document): Document {
  const copy = structuredClone(document) as unknown as { paths: Record<string, Record<string, Operation>> };
  for (const item of Object.values(copy.paths)) {
    for (const op of Object.values(item)) {
      for (const response of Object.values((op.responses ?? {}) as Responses)) {
        const problem = response.content?.["application/problem+json"];
        if (problem && !response.content?.["application/json"]) response.content!["application/json"] = problem;
      }
    }
  }
  return copy as unknown as Document;
}

/**
 * Throws a ContractViolation when `res` is not what the document promises for `method path`.
 * Reads a clone, so the caller can still read the body.
 */
export async function checkResponse(
  fetchDocument: () => Promise<Response>,
  method: string,
  url: string,
  res: Response,
): Promise<void> {
  const { pathname, searchParams } = new URL(url, "http://posthorn.test");
  // The reference itself, and CORS preflights (the CORS protocol, not an operation of the API).
  if (pathname === "/openapi.json" || pathname.startsWith("/docs") || method === "OPTIONS") return;
  const api = await contractOf(fetchDocument);
  const where = `${method} ${pathname} → ${res.status}`;
  const operation = api.matchOperation({
    method,
    path: pathname,
    query: Object.fromEntries(searchParams),
    headers: {},
  });
  if (!operation) {
    // Only the catch-all answers for what the API does not have.
    if (res.status === 404 || res.status === 405) return;
    throw new ContractViolation(`${where}: no operation in /openapi.json matches this route`);
  }
  const responses = (operation.responses ?? {}) as Responses;
  const status = String(res.status);
  const documented = responses[status] ?? responses[`${status[0]}XX`] ?? responses.default;
  if (!documented) {
    throw new ContractViolation(
      `${where}: status not documented (documented: ${Object.keys(responses).join(", ")})\n${await res.clone().text()}`,
    );
  }
  const headers = Object.fromEntries(res.headers);
  const declared = new Set(Object.keys(documented.headers ?? {}).map((h) => h.toLowerCase()));
  for (const name of CONTRACT_HEADERS) {
    if (name in headers && !declared.has(name)) throw new ContractViolation(`${where}: header ${name} not documented`);
  }
  for (const [name, header] of Object.entries(documented.headers ?? {})) {
    if (header.required && !(name.toLowerCase() in headers)) {
      throw new ContractViolation(`${where}: documented header ${name} missing`);
    }
  }
  const headerResult = api.validator.validateResponseHeaders(headers, operation, { statusCode: res.status });
  if (!headerResult.valid) {
    throw new ContractViolation(`${where}: headers ${JSON.stringify(headerResult.errors)}`);
  }

  const contentType = res.headers.get("content-type")?.split(";")[0]?.trim();
  const content = documented.content;
  if (!content) {
    const text = await res.clone().text();
    if (text.length > 0) throw new ContractViolation(`${where}: body sent where none is documented`);
    return;
  }
  if (!contentType) throw new ContractViolation(`${where}: no Content-Type`);
  const [type] = contentType.split("/");
  if (!(contentType in content) && !(`${type}/*` in content) && !("*/*" in content)) {
    throw new ContractViolation(`${where}: Content-Type ${contentType} not documented (${Object.keys(content)})`);
  }
  if (contentType !== "application/json" && contentType !== "application/problem+json") return;
  const body = await res.clone().json();
  const result = api.validator.validateResponse(body, operation, res.status);
  if (!result.valid) {
    throw new ContractViolation(
      `${where}: body does not match the document: ${JSON.stringify(result.errors)}\n${JSON.stringify(body).slice(0, 2000)}`,
    );
  }
}
