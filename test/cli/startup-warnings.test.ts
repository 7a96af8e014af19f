// What `serve` says at start about exposure an operator must fix: /metrics refused on a public
// listener without a token, and a data directory other users could read.
import { afterEach, describe, expect, it } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../src/logger";
import { startService } from "../../src/service";
import { testConfig } from "../helpers/db";

type Line = Record<string, unknown>;

async function startupLogs(dataDir: string, env: Record<string, string>): Promise<Line[]> {
  const logs: Line[] = [];
  const service = await startService(
    // The startup log is the same on either database: SQLite in a temp directory, on a Postgres
    // run too, so the shared test database is never migrated outside a schema of its own.
    testConfig(dataDir, { DATABASE_URL: "", POSTHORN_PORT: "0", POSTHORN_LOG_LEVEL: "info", ...env }),
    createLogger("info", (line) => logs.push(JSON.parse(line))),
  );
  await service.stop();
  return logs;
}

describe("startup warnings", () => {
  const roots: string[] = [];
  const tempDir = () => {
    const root = mkdtempSync(join(tmpdir(), "posthorn-startup-"));
    roots.push(root);
    return join(root, "data");
  };
  afterEach(() => {
    for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
  });

  it("warns in one line, saying how to fix it, when /metrics is refused on a public listener", async () => {
    const logs = await startupLogs(tempDir(), { POSTHORN_HOST: "0.0.0.0" });
    const warning = logs.filter((l) => l.level === "warn" && String(l.msg).includes("/metrics"));
    expect(warning).toHaveLength(1);
    expect(warning[0]!.msg).toContain("0.0.0.0");
    expect(warning[0]!.hint).toContain("POSTHORN_METRICS_TOKEN");
    expect(warning[0]!.hint).toContain("POSTHORN_HOST=127.0.0.1");
  });

  it("says nothing of /metrics on loopback or with a token", async () => {
    const quiet: Record<string, string>[] = [
      { POSTHORN_HOST: "127.0.0.1" },
      { POSTHORN_HOST: "0.0.0.0", POSTHORN_METRICS_TOKEN: "t".repeat(20) },
    ];
    for (const env of quiet) {
      const logs = await startupLogs(tempDir(), env);
      expect(logs.filter((l) => String(l.msg).includes("/metrics"))).toEqual([]);
    }
  });

  it("tightens a data directory other users could read, and warns with what was exposed", async () => {
    const dataDir = tempDir();
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o755);
    writeFileSync(join(dataDir, "secret.key"), `${"ab".repeat(32)}\n`);
    chmodSync(join(dataDir, "secret.key"), 0o644);
    const logs = await startupLogs(dataDir, { POSTHORN_HOST: "127.0.0.1" });
    const warning = logs.find((l) => l.level === "warn" && String(l.msg).includes("data directory"));
    expect(warning?.changed).toEqual([
      `${dataDir} was 0755, now 0700`,
      `${join(dataDir, "secret.key")} was 0644, now 0600`,
    ]);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    // A fresh start in a new directory has nothing to warn about.
    const fresh = await startupLogs(tempDir(), { POSTHORN_HOST: "127.0.0.1" });
    expect(fresh.filter((l) => String(l.msg).includes("data directory"))).toEqual([]);
  });
});
