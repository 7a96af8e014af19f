// The check every response of the suite goes through (test/helpers/contract.ts): it must catch a
// route that drifts from /openapi.json, or the whole suite proves nothing about the document.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createTestApp, type TestApp } from "../helpers/app";
import { ContractViolation, checkResponse } from "../helpers/contract";
import { TEST_DIALECT } from "../helpers/db";

const REQUEST_ID = { "X-Request-Id": "req_test" };
const json = (status: number, body: unknown, headers: Record<string, string> = REQUEST_ID) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
const problem = (status: number, code: string) =>
  new Response(
    JSON.stringify({
      type: `urn:posthorn:problem:${code}`,
      title: code,
      status,
      detail: "d",
      instance: "/v1/me",
      code,
      request_id: "req_test",
    }),
    { status, headers: { "Content-Type": "application/problem+json", ...REQUEST_ID } },
  );

describe(`the contract check (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let check: (method: string, path: string, res: Response) => Promise<void>;
  let me: unknown;
  beforeAll(async () => {
    t = await createTestApp();
    const { key } = await t.createTenantWithKey("Contract");
    me = await (await t.request("GET", "/v1/me", { key })).json();
    check = (method, path, res) => checkResponse(() => t.request("GET", "/openapi.json"), method, path, res);
  });
  afterAll(() => t.close());

  it("passes an answer the document describes", async () => {
    await check("GET", "/v1/me", json(200, me));
    await check("GET", "/v1/me", problem(401, "unauthorized"));
  });

  it("refuses a body that lacks a documented field or has one of the wrong type", async () => {
    const { tenant, ...withoutTenant } = me as Record<string, unknown>;
    expect(tenant).toBeDefined();
    await expect(check("GET", "/v1/me", json(200, withoutTenant))).rejects.toThrow(ContractViolation);
    await expect(check("GET", "/v1/me", json(200, { ...(me as object), tenant: 42 }))).rejects.toThrow(
      /does not match/,
    );
  });

  it("refuses a problem that is not a Problem", async () => {
    const res = new Response(JSON.stringify({ error: "nope" }), {
      status: 401,
      headers: { "Content-Type": "application/problem+json", ...REQUEST_ID },
    });
    await expect(check("GET", "/v1/me", res)).rejects.toThrow(/does not match/);
  });

  it("refuses a status the operation does not document", async () => {
    await expect(check("GET", "/v1/me", problem(418, "teapot"))).rejects.toThrow(/status not documented/);
  });

  it("refuses a contract header the response does not declare, and a missing X-Request-Id", async () => {
    await expect(check("GET", "/v1/me", json(200, me, { ...REQUEST_ID, "Retry-After": "5" }))).rejects.toThrow(
      /retry-after not documented/,
    );
    await expect(check("GET", "/v1/me", json(200, me, {}))).rejects.toThrow(/X-Request-Id missing/);
  });

  it("refuses a content type the response does not declare", async () => {
    const res = new Response("hello", { status: 200, headers: { "Content-Type": "text/plain", ...REQUEST_ID } });
    await expect(check("GET", "/v1/me", res)).rejects.toThrow(/Content-Type text\/plain not documented/);
  });

  it("refuses a route the document does not have, unless the router answered it 404", async () => {
    await expect(check("GET", "/v1/nothing-here", json(200, {}))).rejects.toThrow(/no operation/);
    await check("GET", "/v1/nothing-here", problem(404, "route_not_found"));
  });
});
