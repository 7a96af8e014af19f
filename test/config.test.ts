// Settings: defaults, environment, flags over environment, and one clear line for each
// setting that cannot be used — from loadConfig and from the CLI alike.
import { describe, expect, it, setDefaultTimeout } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { allSettings, ConfigError, describeDatabase, loadConfig, parseDuration, parseSize } from "../src/config";
import { runCli } from "./helpers/cli";
import { settingsDocs } from "./helpers/settings-docs";

// Cases here start real processes (bun src/main.ts …), which take longer on a busy CI machine.
setDefaultTimeout(30_000);

const HEX_KEY = "ab".repeat(32);
const BASE64_KEY = Buffer.alloc(32, 7).toString("base64");

function configError(env: Record<string, string>, flags: Record<string, string> = {}): string {
  try {
    loadConfig(env, flags);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).not.toContain("\n");
    return message;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)} ${JSON.stringify(flags)}`);
}

describe("configuration", () => {
  it("runs with no settings at all: port 8080 on every interface, SQLite in ./data, FULL durability", () => {
    const c = loadConfig({});
    expect(c.port).toBe(8080);
    expect(c.host).toBe("0.0.0.0");
    expect(c.dataDir).toBe(resolve("./data"));
    expect(c.databaseUrl).toBeUndefined();
    expect(c.adminKey).toBeUndefined();
    expect(c.secretKey).toBeUndefined();
    expect(c.logLevel).toBe("info");
    expect(c.bodyLimitBytes).toBe(30 * 1024 * 1024);
    expect(c.corsOrigins).toEqual([]);
    expect(c.sqliteSynchronous).toBe("FULL");
    expect(describeDatabase(c)).toBe(`sqlite ${resolve("./data/posthorn.db")}`);
  });

  it("reads every foundation setting from the environment", () => {
    const c = loadConfig({
      POSTHORN_PORT: "9090",
      POSTHORN_HOST: "127.0.0.1",
      POSTHORN_DATA_DIR: "/var/lib/posthorn",
      DATABASE_URL: "postgres://posthorn:s3cret@db.internal:6543/mail",
      POSTHORN_ADMIN_KEY: "a-very-long-admin-key",
      POSTHORN_SECRET_KEY: HEX_KEY,
      POSTHORN_PREVIOUS_SECRET_KEYS: ` ${BASE64_KEY} , ${HEX_KEY}`,
      POSTHORN_LOG_LEVEL: "WARN",
      POSTHORN_BODY_LIMIT: "512kb",
      POSTHORN_CORS_ORIGINS: "https://a.example, https://b.example",
      POSTHORN_SQLITE_SYNCHRONOUS: "normal",
    });
    expect(c).toMatchObject({
      port: 9090,
      host: "127.0.0.1",
      dataDir: "/var/lib/posthorn",
      databaseUrl: "postgres://posthorn:s3cret@db.internal:6543/mail",
      adminKey: "a-very-long-admin-key",
      secretKey: HEX_KEY,
      previousSecretKeys: [BASE64_KEY, HEX_KEY],
      logLevel: "warn",
      bodyLimitBytes: 512 * 1024,
      corsOrigins: ["https://a.example", "https://b.example"],
      sqliteSynchronous: "NORMAL",
    });
    // Descriptions of the database never carry its password.
    expect(describeDatabase(c)).toBe("postgres db.internal:6543/mail");
  });

  it("lets flags override the environment", () => {
    const c = loadConfig(
      { POSTHORN_PORT: "9090", POSTHORN_HOST: "127.0.0.1", POSTHORN_LOG_LEVEL: "error", POSTHORN_DATA_DIR: "/a" },
      { port: "7070", host: "::1", "log-level": "debug", "data-dir": "/b", "database-url": "postgresql://h/db" },
    );
    expect(c).toMatchObject({
      port: 7070,
      host: "::1",
      logLevel: "debug",
      dataDir: "/b",
      databaseUrl: "postgresql://h/db",
    });
  });

  it("treats an empty variable as unset", () => {
    const c = loadConfig({ POSTHORN_PORT: "", DATABASE_URL: "", POSTHORN_ADMIN_KEY: "", POSTHORN_SECRET_KEY: "" });
    expect(c.port).toBe(8080);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.adminKey).toBeUndefined();
    expect(c.secretKey).toBeUndefined();
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    ["a port that is not a number", { POSTHORN_PORT: "eighty" }, /^POSTHORN_PORT must be a port number/],
    ["a port out of range", { POSTHORN_PORT: "70000" }, /^POSTHORN_PORT .*"70000"/],
    ["a host with odd characters", { POSTHORN_HOST: "local host" }, /^POSTHORN_HOST must be a host name/],
    ["a DATABASE_URL of another kind", { DATABASE_URL: "mysql://h/db" }, /^DATABASE_URL must be a postgres:\/\/ URL/],
    ["a DATABASE_URL that is not a URL", { DATABASE_URL: "postgres://h:port/db" }, /^DATABASE_URL must be/],
    ["an unknown log level", { POSTHORN_LOG_LEVEL: "verbose" }, /^POSTHORN_LOG_LEVEL must be one of debug, info/],
    ["a short admin key", { POSTHORN_ADMIN_KEY: "short" }, /^POSTHORN_ADMIN_KEY is too short .*openssl rand/],
    [
      "an unknown SQLite durability",
      { POSTHORN_SQLITE_SYNCHRONOUS: "OFF" },
      /^POSTHORN_SQLITE_SYNCHRONOUS must be FULL .* or NORMAL/,
    ],
    ["a secret key that is not 32 bytes", { POSTHORN_SECRET_KEY: "abc123" }, /^POSTHORN_SECRET_KEY must be 32 random/],
    ["a secret key of 31 bytes", { POSTHORN_SECRET_KEY: "ab".repeat(31) }, /^POSTHORN_SECRET_KEY must be 32/],
    [
      "a bad previous secret key",
      { POSTHORN_PREVIOUS_SECRET_KEYS: `${HEX_KEY},nope` },
      /^POSTHORN_PREVIOUS_SECRET_KEYS\[1\] must be 32/,
    ],
    ["a body limit without a size", { POSTHORN_BODY_LIMIT: "lots" }, /^POSTHORN_BODY_LIMIT must be a size/],
    [
      "a negative thread count",
      { POSTHORN_SEND_THREADS: "-1" },
      /^POSTHORN_SEND_THREADS must be a whole number from 0/,
    ],
    ["too many send threads", { POSTHORN_SEND_THREADS: "64" }, /^POSTHORN_SEND_THREADS .* to 32, not "64"/],
  ];
  for (const [what, env, message] of bad) {
    it(`refuses ${what} with one line naming the variable`, () => {
      expect(configError(env)).toMatch(message);
    });
  }

  it("names the flag, not the variable, when a flag is wrong", () => {
    expect(configError({ POSTHORN_PORT: "8080" }, { port: "x" })).toMatch(/^--port must be a port number/);
    expect(configError({}, { "log-level": "loud" })).toMatch(/^--log-level must be one of/);
    expect(configError({}, { "database-url": "sqlite://x" })).toMatch(/^--database-url must be a postgres/);
  });

  it("never repeats a secret in its error messages", () => {
    const password = "hunter2-very-secret";
    expect(configError({ DATABASE_URL: `mysql://u:${password}@h/db` })).not.toContain(password);
    expect(configError({ POSTHORN_ADMIN_KEY: "tiny-secret" })).not.toContain("tiny-secret");
    expect(configError({ POSTHORN_SECRET_KEY: `${password}` })).not.toContain(password);
  });

  it("parses sizes and durations with their units", () => {
    expect(parseSize("X", "100")).toBe(100);
    expect(parseSize("X", "2kb")).toBe(2048);
    expect(parseSize("X", "30MB")).toBe(30 * 1024 * 1024);
    expect(parseSize("X", "1gb")).toBe(1024 ** 3);
    expect(parseDuration("X", "250ms")).toBe(250);
    expect(parseDuration("X", "30s")).toBe(30_000);
    expect(parseDuration("X", "5m")).toBe(300_000);
    expect(parseDuration("X", "24h")).toBe(86_400_000);
    expect(parseDuration("X", "7d")).toBe(7 * 86_400_000);
    expect(() => parseDuration("POSTHORN_LEASE", "60")).toThrow(/^POSTHORN_LEASE must be a duration/);
    expect(() => parseSize("X", "-1kb")).toThrow(ConfigError);
  });
});

describe("configuration errors from the command line", () => {
  const cases: [string[], Record<string, string>, string][] = [
    [["migrate"], { POSTHORN_PORT: "eighty" }, "POSTHORN_PORT"],
    [["migrate"], { DATABASE_URL: "mysql://localhost/db" }, "DATABASE_URL"],
    [["tenant", "list"], { POSTHORN_LOG_LEVEL: "chatty" }, "POSTHORN_LOG_LEVEL"],
    [["tenant", "list"], { POSTHORN_ADMIN_KEY: "short" }, "POSTHORN_ADMIN_KEY"],
    [["key", "list", "--tenant", "ten_x"], { POSTHORN_SQLITE_SYNCHRONOUS: "sometimes" }, "POSTHORN_SQLITE_SYNCHRONOUS"],
    [["serve", "--port", "0"], { POSTHORN_SECRET_KEY: "not-a-key" }, "POSTHORN_SECRET_KEY"],
    [["serve", "--port", "99999"], {}, "--port"],
  ];
  for (const [args, env, name] of cases) {
    it(`exits non-zero with one line naming ${name} (posthorn ${args.join(" ")})`, async () => {
      const r = await runCli(args, { POSTHORN_DATA_DIR: "/nonexistent/posthorn-config-test", ...env });
      expect(r.exitCode).toBe(78);
      expect(r.stdout).toBe("");
      const lines = r.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toStartWith(`posthorn: configuration error: ${name} `);
    });
  }
});

describe("the settings table", () => {
  it("is what README.md and docs/configuration.md show (regenerate with `bun .ci/settings-docs.ts`)", () => {
    const root = resolve(import.meta.dir, "..");
    for (const [file, expected] of settingsDocs((f) => readFileSync(resolve(root, f), "utf8"))) {
      expect(readFileSync(resolve(root, file), "utf8"), file).toBe(expected);
    }
  });

  it("names every variable loadConfig reads, once, and `serve --help` lists them all", async () => {
    const names = allSettings().map((s) => s.env);
    expect(new Set(names).size).toBe(names.length);
    const help = await runCli(["serve", "--help"]);
    for (const name of names) expect(help.stdout).toContain(name);
  });
});
