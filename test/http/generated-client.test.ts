// A team's generated client, built the way such a team builds it: openapi-typescript turns
// /openapi.json into types, TypeScript 5 compiles code that passes `limit: 5` and reads
// `error.code`, and openapi-fetch then runs that code against the server. openapi-typescript 7
// needs TypeScript 5, so both live in their own package (test/http/generated-client/).
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestApp, type TestApp } from "../helpers/app";
import { TEST_DIALECT } from "../helpers/db";

const TOOLS = join(import.meta.dir, "generated-client");
const bin = (name: string) => join(TOOLS, "node_modules", ".bin", name);

/** What a team writes against the generated types; it must compile under `strict` and run. */
const CLIENT_CODE = `
import createClient from "openapi-fetch";
import type { components, paths } from "./posthorn";

declare const process: { env: Record<string, string | undefined> };

type Email = components["schemas"]["Email"];
type Problem = components["schemas"]["Problem"];

const client = createClient<paths>({
  baseUrl: process.env.POSTHORN_URL,
  headers: { "X-API-Key": process.env.POSTHORN_KEY },
});

const account = await client.POST("/v1/smtp-accounts", {
  body: {
    name: "relay",
    host: "127.0.0.1",
    port: 2525,
    security: "none",
    from_email: "app@example.com",
  },
});
if (account.error) throw new Error(account.error.code);

const sent = await client.POST("/v1/emails", {
  body: { from: "app@example.com", to: ["ada@example.org"], subject: "Hello", text: "It works." },
  params: { header: { "Idempotency-Key": "welcome-ada" } },
});
if (sent.error) throw new Error(sent.error.code);
const id: string = sent.data.id;

const page = await client.GET("/v1/emails", { params: { query: { limit: 5 } } });
if (page.error) throw new Error(page.error.code);
const first = page.data.data[0];

const one = await client.GET("/v1/emails/{id}", { params: { path: { id } } });
const email: Email | undefined = one.data;

const refused = await client.POST("/v1/emails", {
  body: { from: "app@example.com", to: ["not an address"], subject: "Hello", text: "x" },
});
const problem: Problem | undefined = refused.error;

const missing = await client.GET("/v1/emails/{id}", { params: { path: { id: "em_00000000000000000000000000" } } });

console.log(
  JSON.stringify({
    id,
    listed: first?.id,
    status: email?.status,
    refusedCode: problem?.code,
    refusedField: problem?.field,
    refusedStatus: refused.response.status,
    missingCode: missing.error?.code,
  }),
);
`;

const TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    module: "ESNext",
    moduleResolution: "bundler",
    strict: true,
    noEmit: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: true,
    types: [],
    lib: ["ES2022", "DOM"],
  },
  include: ["*.ts"],
};

async function run(cmd: string[], cwd: string, env: Record<string, string> = {}) {
  const proc = Bun.spawn(cmd, { cwd, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { out, err, code };
}

describe(`a client generated from /openapi.json (${TEST_DIALECT})`, () => {
  let t: TestApp;
  let dir: string;
  let url: string;
  let key: string;

  beforeAll(async () => {
    // The tools' own lockfile; from the cache when installed once.
    const installed = await run(["bun", "install", "--frozen-lockfile"], TOOLS);
    if (installed.code !== 0) throw new Error(`bun install in ${TOOLS} failed:\n${installed.err}`);
    t = await createTestApp();
    url = t.listen();
    key = (await t.createTenantWithKey("Generated")).key;
    dir = mkdtempSync(join(tmpdir(), "posthorn-client-"));
    // The client's own node_modules: openapi-fetch and its types, resolved from the tools package.
    await Bun.write(join(dir, "tsconfig.json"), JSON.stringify(TSCONFIG));
    await Bun.write(join(dir, "client.ts"), CLIENT_CODE);
    await run(["ln", "-s", join(TOOLS, "node_modules"), join(dir, "node_modules")], dir);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("generates types with openapi-typescript, with named schemas", async () => {
    const generated = await run([bin("openapi-typescript"), `${url}/openapi.json`, "-o", "posthorn.ts"], dir);
    expect(generated.code, generated.err).toBe(0);
    const types = await Bun.file(join(dir, "posthorn.ts")).text();
    for (const name of ["Problem", "Email", "SmtpAccount", "EmailPage"]) expect(types).toContain(`${name}: {`);
    expect(types).toContain('"/v1/emails": {');
  }, 60_000);

  it("compiles code that passes limit: 5 and reads error.code, under TypeScript 5 in strict mode", async () => {
    const compiled = await run([bin("tsc"), "-p", "."], dir);
    expect(compiled.out + compiled.err).toBe("");
    expect(compiled.code).toBe(0);
  }, 60_000);

  it("rejects code that misuses the API (a string limit, an unknown field on a problem)", async () => {
    const wrong = CLIENT_CODE.replace("limit: 5", 'limit: "5"').replace("problem?.field", "problem?.fields");
    await Bun.write(join(dir, "wrong", "client.ts"), wrong.replaceAll("./posthorn", "../posthorn"));
    await Bun.write(join(dir, "wrong", "tsconfig.json"), JSON.stringify(TSCONFIG));
    await run(["ln", "-s", join(TOOLS, "node_modules"), join(dir, "wrong", "node_modules")], dir);
    const compiled = await run([bin("tsc"), "-p", "wrong"], dir);
    expect(compiled.code).not.toBe(0);
    const lineOf = (text: string) => wrong.split("\n").findIndex((line) => line.includes(text)) + 1;
    const errors = compiled.out.trim().split("\n");
    expect(errors).toEqual([
      expect.stringContaining(`wrong/client.ts(${lineOf('limit: "5"')},`),
      expect.stringContaining(`wrong/client.ts(${lineOf("problem?.fields")},`),
    ]);
  }, 60_000);

  it("runs against the server: sends, lists with limit 5, and reads the problem's code and field", async () => {
    const ran = await run(["bun", "client.ts"], dir, { POSTHORN_URL: url, POSTHORN_KEY: key });
    expect(ran.err).toBe("");
    const result = JSON.parse(ran.out.trim());
    expect(result.id).toMatch(/^em_/);
    expect(result.listed).toBe(result.id);
    expect(["queued", "scheduled", "sending", "sent"]).toContain(result.status);
    expect(result).toMatchObject({
      refusedCode: "validation_failed",
      refusedField: "to[0]",
      refusedStatus: 422,
      missingCode: "not_found",
    });
  }, 60_000);
});
