// `serve` says at start when SMTP account hosts may reach private networks: the operator's one
// switch that turns the SSRF guard off for SMTP (POSTHORN_SMTP_ALLOW_PRIVATE).
import { afterAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../src/logger";
import { startService } from "../../src/service";
import { testConfig } from "../helpers/db";

describe("the startup log and private SMTP hosts", () => {
  const root = mkdtempSync(join(tmpdir(), "posthorn-smtp-private-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const startupWarnings = async (allow: string) => {
    const logs: Record<string, unknown>[] = [];
    const service = await startService(
      // SQLite in a temp directory on a Postgres run too: the startup log does not depend on it.
      testConfig(join(root, allow), {
        DATABASE_URL: "",
        POSTHORN_PORT: "0",
        POSTHORN_HOST: "127.0.0.1",
        POSTHORN_LOG_LEVEL: "info",
        POSTHORN_SMTP_ALLOW_PRIVATE: allow,
      }),
      createLogger("info", (line) => logs.push(JSON.parse(line))),
    );
    await service.stop();
    return logs.filter((l) => l.level === "warn" && String(l.msg).includes("POSTHORN_SMTP_ALLOW_PRIVATE"));
  };

  it("warns when private SMTP hosts are allowed, and says nothing when they are refused", async () => {
    const allowed = await startupWarnings("true");
    expect(allowed).toHaveLength(1);
    expect(allowed[0]!.msg).toBe("SMTP accounts may point at private networks (POSTHORN_SMTP_ALLOW_PRIVATE=true)");
    expect(allowed[0]!.hint).toContain("169.254.169.254");
    expect(await startupWarnings("false")).toEqual([]);
  });
});
