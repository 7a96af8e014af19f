// The binary's command line, run as a user runs it (a child process), against this run's
// dialect: help for every command, version, and tenant/key management with and without --json.
import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import pkg from "../../package.json" with { type: "json" };
import { ApiKeyAuthenticator, hashApiKey } from "../../src/api-keys";
import type { PosthornError } from "../../src/errors";
import { runCli, runCliJson } from "../helpers/cli";
import { TEST_DIALECT, type TempDatabase, tempDatabase } from "../helpers/db";

// Cases here start real processes (bun src/main.ts …), which take longer on a busy CI machine.
setDefaultTimeout(30_000);

type Tenant = { id: string; name: string; created_at: string };
type CreatedKey = {
  id: string;
  key: string;
  tenant_id: string;
  name: string;
  prefix: string;
  daily_limit: number | null;
};
type KeyRow = Omit<CreatedKey, "key"> & { revoked_at: string | null; last_used_at: string | null };

describe("posthorn help and version", () => {
  it("prints the usage with every command for --help, -h, help and no arguments", async () => {
    for (const args of [["--help"], ["-h"], ["help"], []]) {
      const r = await runCli(args);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toStartWith(`posthorn ${pkg.version}`);
      for (const command of ["serve", "migrate", "tenant", "key", "healthcheck", "version"]) {
        expect(r.stdout).toMatch(new RegExp(`^  ${command} `, "m"));
      }
    }
  });

  for (const command of ["serve", "migrate", "tenant", "key", "healthcheck", "version"]) {
    it(`prints the options of '${command}' for '${command} --help' and changes nothing`, async () => {
      for (const flag of ["--help", "-h"]) {
        const r = await runCli([command, flag], { POSTHORN_DATA_DIR: "/nonexistent/posthorn-help-test" });
        expect(r.exitCode).toBe(0);
        expect(r.stdout).toStartWith(`Usage: posthorn ${command}`);
        expect(r.stderr).toBe("");
      }
    });
  }

  it("prints the version as a line and as JSON", async () => {
    for (const args of [["version"], ["--version"], ["-v"]]) {
      const r = await runCli(args);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toBe(`posthorn ${pkg.version}\n`);
    }
    expect(await runCliJson(["version"])).toEqual({ version: pkg.version });
  });

  it("exits 2 with the usage for an unknown command", async () => {
    const r = await runCli(["frobnicate"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('unknown command "frobnicate"');
    expect(r.stderr).toContain("Usage: posthorn <command>");
  });
});

describe(`posthorn tenant and key (${TEST_DIALECT})`, () => {
  let temp: TempDatabase;
  let env: Record<string, string>;
  beforeAll(async () => {
    temp = await tempDatabase();
    env = temp.env;
  });
  afterAll(() => temp.cleanup());

  it("says so when there are no tenants yet", async () => {
    const r = await runCli(["tenant", "list"], env);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("No tenants yet.\n");
    expect(await runCliJson(["tenant", "list"], env)).toEqual({ data: [] });
  });

  it("creates a tenant and prints only its id", async () => {
    const r = await runCli(["tenant", "create", "--name", "Acme Mail"], env);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^ten_[0-9a-z]{26}\n$/);
    const row = await temp.db.kysely
      .selectFrom("tenants")
      .selectAll()
      .where("id", "=", r.stdout.trim())
      .executeTakeFirst();
    expect(row?.name).toBe("Acme Mail");
  });

  it("creates a tenant with --json and answers one JSON object holding its id", async () => {
    const tenant = await runCliJson<Tenant>(["tenant", "create", "--name", "Json Co"], env);
    expect(tenant.id).toMatch(/^ten_/);
    expect(tenant.name).toBe("Json Co");
    expect(Date.parse(tenant.created_at)).not.toBeNaN();
  });

  it("lists tenants as a table and as JSON", async () => {
    const tenant = await runCliJson<Tenant>(["tenant", "create", "--name", "Listed"], env);
    const human = await runCli(["tenant", "list"], env);
    expect(human.exitCode).toBe(0);
    expect(human.stdout.split("\n")[0]).toMatch(/^ID\s+NAME\s+CREATED$/);
    expect(human.stdout).toMatch(new RegExp(`^${tenant.id}\\s+Listed\\s+\\d{4}-`, "m"));
    const json = await runCliJson<{ data: Tenant[] }>(["tenant", "list"], env);
    expect(json.data.find((x) => x.id === tenant.id)).toEqual(tenant);
  });

  it("creates a key, printing it once with a warning, and stores only its hash", async () => {
    const tenant = await runCliJson<Tenant>(["tenant", "create", "--name", "Keys"], env);
    const r = await runCli(["key", "create", "--tenant", tenant.id, "--name", "prod", "--daily-limit", "250"], env);
    expect(r.exitCode).toBe(0);
    const [key, blank, note] = r.stdout.trimEnd().split("\n");
    expect(key).toMatch(/^ph_[0-9a-z]{12}_[0-9a-z]{32}$/);
    expect(blank).toBe("");
    expect(note).toContain("only time the key is shown");
    const row = await temp.db.kysely
      .selectFrom("api_keys")
      .selectAll()
      .where("tenant_id", "=", tenant.id)
      .executeTakeFirstOrThrow();
    expect(row.secret_hash).toBe(hashApiKey(key!));
    expect(row.daily_limit).toBe(250);
    expect(JSON.stringify(row)).not.toContain(key!);
  });

  it("creates a key with --json that authenticates as its tenant", async () => {
    const tenant = await runCliJson<Tenant>(["tenant", "create", "--name", "Auth"], env);
    const created = await runCliJson<CreatedKey>(["key", "create", "--tenant", tenant.id, "--name", "ci"], env);
    expect(created).toMatchObject({ tenant_id: tenant.id, name: "ci", daily_limit: null });
    expect(created.key.startsWith(created.prefix)).toBe(true);
    const key = await new ApiKeyAuthenticator(temp.db.kysely).authenticate(created.key);
    expect(key.tenantId).toBe(tenant.id);
  });

  it("lists a tenant's keys as a table and as JSON, never showing the keys", async () => {
    const tenant = await runCliJson<Tenant>(["tenant", "create", "--name", "KeyList"], env);
    const a = await runCliJson<CreatedKey>(["key", "create", "--tenant", tenant.id, "--name", "alpha"], env);
    const b = await runCliJson<CreatedKey>(
      ["key", "create", "--tenant", tenant.id, "--name", "beta", "--daily-limit", "9"],
      env,
    );
    const human = await runCli(["key", "list", "--tenant", tenant.id], env);
    expect(human.exitCode).toBe(0);
    expect(human.stdout.split("\n")[0]).toMatch(/^ID\s+NAME\s+PREFIX\s+SCOPE\s+DAILY LIMIT\s+LAST USED\s+REVOKED$/);
    expect(human.stdout).toMatch(new RegExp(`^${a.id}\\s+alpha\\s+${a.prefix}\\s+full\\s+-\\s+-\\s+-$`, "m"));
    expect(human.stdout).toMatch(new RegExp(`^${b.id}\\s+beta\\s+${b.prefix}\\s+sending\\s+9\\s+-\\s+-$`, "m"));
    const json = await runCliJson<{ data: KeyRow[] }>(["key", "list", "--tenant", tenant.id], env);
    expect(json.data.map((k) => k.id).sort()).toEqual([a.id, b.id].sort());
    for (const output of [human.stdout, JSON.stringify(json)]) {
      expect(output).not.toContain(a.key);
      expect(output).not.toContain(b.key);
    }
    const empty = await runCliJson<Tenant>(["tenant", "create", "--name", "NoKeys"], env);
    expect((await runCli(["key", "list", "--tenant", empty.id], env)).stdout).toBe("No keys for this tenant.\n");
  });

  it("gives a key the scope asked for with --scope, and by default full to a tenant's first key only", async () => {
    const tenant = await runCliJson<Tenant>(["tenant", "create", "--name", "Scopes"], env);
    const create = (name: string, ...more: string[]) =>
      runCliJson<CreatedKey & { scope: string }>(
        ["key", "create", "--tenant", tenant.id, "--name", name, ...more],
        env,
      );
    expect((await create("setup")).scope).toBe("full");
    expect((await create("app")).scope).toBe("sending");
    expect((await create("admin", "--scope", "full")).scope).toBe("full");
    expect((await create("worker", "--scope", "sending")).scope).toBe("sending");
    const human = await runCli(["key", "create", "--tenant", tenant.id, "--name", "h", "--scope", "full"], env);
    expect(human.stdout).toContain("scope full)");

    const wrong = await runCli(["key", "create", "--tenant", tenant.id, "--name", "x", "--scope", "admin"], env);
    expect(wrong.exitCode).toBe(2);
    expect(wrong.stderr).toContain("--scope must be one of sending, full");
    const listed = await runCliJson<{ data: (KeyRow & { scope: string })[] }>(
      ["key", "list", "--tenant", tenant.id],
      env,
    );
    expect(listed.data.map((k) => [k.name, k.scope]).sort()).toEqual([
      ["admin", "full"],
      ["app", "sending"],
      ["h", "full"],
      ["setup", "full"],
      ["worker", "sending"],
    ]);
  }, 30_000);

  it("revokes a key from the command line so it no longer authenticates", async () => {
    const tenant = await runCliJson<Tenant>(["tenant", "create", "--name", "Revoke"], env);
    const a = await runCliJson<CreatedKey>(["key", "create", "--tenant", tenant.id, "--name", "one"], env);
    const b = await runCliJson<CreatedKey>(["key", "create", "--tenant", tenant.id, "--name", "two"], env);
    await new ApiKeyAuthenticator(temp.db.kysely).authenticate(a.key);

    const human = await runCli(["key", "revoke", a.id], env);
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toBe(`Revoked ${a.id} (one).\n`);
    const json = await runCliJson<KeyRow>(["key", "revoke", b.id], env);
    expect(json.id).toBe(b.id);
    expect(json.revoked_at).not.toBeNull();

    for (const presented of [a.key, b.key]) {
      const err = await new ApiKeyAuthenticator(temp.db.kysely).authenticate(presented).catch((e: unknown) => e);
      expect((err as PosthornError).code).toBe("unauthorized");
    }
    const listed = await runCliJson<{ data: KeyRow[] }>(["key", "list", "--tenant", tenant.id], env);
    expect(listed.data.every((k) => k.revoked_at !== null)).toBe(true);
    expect(listed.data.find((k) => k.id === a.id)?.last_used_at).not.toBeNull();
  });

  it("exits 2 naming the problem when a command is used wrongly", async () => {
    const cases: [string[], RegExp][] = [
      [["tenant", "create"], /--name is required/],
      [["tenant", "frob"], /Unknown subcommand "tenant frob"/],
      [["key", "create", "--name", "x"], /--tenant is required/],
      [["key", "create", "--tenant", "ten_x", "--name", "x", "--daily-limit", "0"], /--daily-limit must be/],
      [["key", "create", "--tenant", "ten_x", "--name", "x", "--daily-limit", "lots"], /--daily-limit must be/],
      [["key", "list"], /--tenant is required/],
      [["key", "revoke"], /Name the key to revoke/],
      [["tenant", "list", "--bogus"], /bogus/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args, env);
      expect(`${args.join(" ")} → ${r.exitCode}`).toBe(`${args.join(" ")} → 2`);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe("");
    }
  });

  it("exits 1 naming what is missing for an unknown tenant or key", async () => {
    const r1 = await runCli(["key", "create", "--tenant", "ten_00000000000000000000000000", "--name", "x"], env);
    expect(r1.exitCode).toBe(1);
    expect(r1.stderr).toContain("tenant not found");
    const r2 = await runCli(["key", "revoke", "key_00000000000000000000000000"], env);
    expect(r2.exitCode).toBe(1);
    expect(r2.stderr).toContain("API key not found");
    const r3 = await runCli(["key", "list", "--tenant", "ten_00000000000000000000000000"], env);
    expect(r3.exitCode).toBe(1);
    expect(r3.stderr).toContain("tenant not found");
  });

  it("exits 1 with the field when a name is empty", async () => {
    const r = await runCli(["tenant", "create", "--name", "   "], env);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("name: must not be empty");
  });
});
