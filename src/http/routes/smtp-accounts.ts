// A tenant's SMTP accounts: CRUD and a live connection check. Only translates HTTP; the rules
// (and the schemas that validate and document the bodies) live in src/smtp-accounts.
import { Hono } from "hono";
import { describeRoute } from "hono-openapi";
import type { AppDeps } from "../../deps";
import {
  CreateSmtpAccountSchema,
  createSmtpAccount,
  deleteSmtpAccount,
  getSmtpAccount,
  listSmtpAccounts,
  SmtpAccountSchema,
  type SmtpAccountsDeps,
  SmtpAccountTestResultSchema,
  testSmtpAccount,
  UpdateSmtpAccountSchema,
  updateSmtpAccount,
} from "../../smtp-accounts";
import type { AppEnv } from "../env";
import { jsonResponse, PageQuery, pageOf, problems, TENANT_SECURITY } from "../openapi";
import { jsonBody, queryParams } from "../validate";

const tags = ["SMTP accounts"];

export function smtpAccountsApi(deps: AppDeps) {
  const { db } = deps;
  const accounts: SmtpAccountsDeps = {
    db,
    secrets: deps.secrets,
    hostPolicy: { allowPrivate: deps.config.smtpAllowPrivate },
    onChange: (tenantId) => deps.signals.accountsChanged(tenantId),
  };
  const r = new Hono<AppEnv>();

  r.post(
    "/",
    describeRoute({
      tags,
      summary: "Create an SMTP account",
      operationId: "createSmtpAccount",
      description: "`password` is stored encrypted and never returned. Mail held for want of an account is released.",
      security: TENANT_SECURITY,
      responses: { 201: jsonResponse("Created", SmtpAccountSchema), ...problems(401, 422) },
    }),
    jsonBody(CreateSmtpAccountSchema),
    async (c) => c.json(await createSmtpAccount(accounts, c.get("tenantId"), c.req.valid("json")), 201),
  );

  r.get(
    "/",
    describeRoute({
      tags,
      summary: "List SMTP accounts",
      operationId: "listSmtpAccounts",
      security: TENANT_SECURITY,
      responses: {
        200: jsonResponse("A page of accounts, newest first", pageOf(SmtpAccountSchema, "SmtpAccountPage")),
        ...problems(401, 422),
      },
    }),
    queryParams(PageQuery),
    async (c) => c.json(await listSmtpAccounts(db, c.get("tenantId"), c.req.valid("query"))),
  );

  r.get(
    "/:id",
    describeRoute({
      tags,
      summary: "Get an SMTP account",
      operationId: "getSmtpAccount",
      security: TENANT_SECURITY,
      responses: { 200: jsonResponse("The account", SmtpAccountSchema), ...problems(401, 404) },
    }),
    async (c) => c.json(await getSmtpAccount(db, c.get("tenantId"), c.req.param("id"))),
  );

  r.patch(
    "/:id",
    describeRoute({
      tags,
      summary: "Change an SMTP account",
      operationId: "updateSmtpAccount",
      description:
        "Fields left out keep their value; `null` clears a nullable one. Clearing `username` also removes the " +
        "password; `username` and `password` otherwise go together. The stored password stays with the server " +
        "and user it was given for: changing `host`, `port`, `security` or `username` drops it unless the same " +
        "request gives `password` (the answer then shows `password_set: false`). Likewise changing " +
        "`dkim_domain` or `dkim_selector` needs `dkim_private_key` again (422 otherwise).",
      security: TENANT_SECURITY,
      responses: { 200: jsonResponse("The changed account", SmtpAccountSchema), ...problems(401, 404, 422) },
    }),
    jsonBody(UpdateSmtpAccountSchema),
    async (c) => c.json(await updateSmtpAccount(accounts, c.get("tenantId"), c.req.param("id"), c.req.valid("json"))),
  );

  r.delete(
    "/:id",
    describeRoute({
      tags,
      summary: "Delete an SMTP account",
      operationId: "deleteSmtpAccount",
      security: TENANT_SECURITY,
      responses: { 204: { description: "Deleted" }, ...problems(401, 404) },
    }),
    async (c) => {
      await deleteSmtpAccount(accounts, c.get("tenantId"), c.req.param("id"));
      return c.body(null, 204);
    },
  );

  r.post(
    "/:id/test",
    describeRoute({
      tags,
      summary: "Check an SMTP account",
      operationId: "testSmtpAccount",
      description:
        "Connects, negotiates TLS and authenticates as a send would (nodemailer `verify`), within " +
        "POSTHORN_SMTP_TEST_TIMEOUT, connecting only to the addresses the host was checked to resolve to. A " +
        "failure is still a 200: `ok` is false and `error.message` carries an SMTP server's own words; a server " +
        "that does not speak SMTP is named, never quoted.",
      security: TENANT_SECURITY,
      responses: { 200: jsonResponse("The outcome of the check", SmtpAccountTestResultSchema), ...problems(401, 404) },
    }),
    async (c) => {
      const tenantId = c.get("tenantId");
      const result = await testSmtpAccount(db, deps.secrets, tenantId, c.req.param("id"), {
        timeoutMs: deps.config.smtpTestTimeoutMs,
        tlsRejectUnauthorized: deps.config.smtpTlsRejectUnauthorized,
        allowPrivate: deps.config.smtpAllowPrivate,
      });
      c.get("log").info("smtp account checked", {
        smtp_account_id: c.req.param("id"),
        ok: result.ok,
        error_code: result.ok ? undefined : result.error.code,
        smtp_code: result.ok ? undefined : result.error.smtp_code,
        duration_ms: result.duration_ms,
      });
      return c.json(result);
    },
  );

  return r;
}
