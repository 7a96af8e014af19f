// The SQLite database on a disk that fills up: the data directory is a small tmpfs (8 MB), a
// filler file takes the rest. While it is full the API answers 503 problem+json saying so (never
// 500) and stores nothing; reads keep working; every email accepted before is kept and sent, and
// once the filler is gone the same server accepts again.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SENDING_ENV } from "../helpers/app";
import { runCliJson } from "../helpers/cli";
import { TEST_ADMIN_KEY, TEST_DIALECT, TEST_SECRET_KEY } from "../helpers/db";
import { deliveryCounts, emailIdOf, reportFigures } from "../helpers/figures";
import { httpClient } from "../helpers/http-client";
import { pushEmails, waitUntil } from "../helpers/load";
import { createSmtpAccount, SINK } from "../helpers/sending";
import { type ServeProcess, startServeProcess } from "../helpers/serve-process";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp-server";

const DISK = "8m";
const FILLER_CHUNK = Buffer.alloc(256 * 1024, 1);

/** A tmpfs of DISK at a new directory, or why there cannot be one (not root, no mount). */
function mountSmallDisk(): { dir: string } | { blocked: string } {
  const dir = mkdtempSync(join(tmpdir(), "posthorn-disk-"));
  const r = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${DISK}`, "tmpfs", dir], { stderr: "pipe" });
  if (r.exitCode === 0) return { dir };
  rmSync(dir, { recursive: true, force: true });
  return { blocked: `mount -t tmpfs failed: ${r.stderr.toString().trim()}` };
}

/** Writes the filler until the disk refuses more: the disk is then full to the byte. */
function fillDisk(path: string): number {
  let written = 0;
  writeFileSync(path, "");
  for (;;) {
    try {
      writeFileSync(path, FILLER_CHUNK, { flag: "a" });
      written += FILLER_CHUNK.length;
    } catch {
      // The last chunk did not fit: fill the remaining bytes one small write at a time.
      for (let size = 4096; size >= 1; size /= 2) {
        try {
          for (;;) {
            writeFileSync(path, Buffer.alloc(size), { flag: "a" });
            written += size;
          }
        } catch {
          // smaller
        }
      }
      return written;
    }
  }
}

const mount = TEST_DIALECT === "sqlite" ? mountSmallDisk() : { blocked: "SQLite only" };
if ("blocked" in mount && TEST_DIALECT === "sqlite") console.warn(`disk-full test skipped: ${mount.blocked}`);

describe.skipIf(!("dir" in mount))("a full disk under the SQLite database", () => {
  const dir = "dir" in mount ? mount.dir : "";
  const filler = join(dir, "filler");
  const env = {
    POSTHORN_DATA_DIR: dir,
    POSTHORN_SECRET_KEY: TEST_SECRET_KEY,
    POSTHORN_ADMIN_KEY: TEST_ADMIN_KEY,
  };
  let smtp: TestSmtpServer;
  let server: ServeProcess | undefined;
  let key: string;
  beforeAll(async () => {
    smtp = await startSmtpServer();
    const tenant = await runCliJson<{ id: string }>(["tenant", "create", "--name", "disk"], env);
    key = (await runCliJson<{ key: string }>(["key", "create", "--tenant", tenant.id, "--name", "k"], env)).key;
    server = await startServeProcess({ ...env, ...SENDING_ENV });
    await createSmtpAccount(server.url, key, smtp, SINK);
  }, 30_000);
  afterAll(async () => {
    server?.kill("SIGKILL");
    await server?.exited;
    await smtp?.close();
    Bun.spawnSync(["umount", dir]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers 503 saying the disk is full, keeps what it accepted, and accepts again once space returns", async () => {
    const api = httpClient(server!.url, key);
    const body = (i: number) => ({ to: [`r${i}@example.org`], subject: `s${i}`, text: "x".repeat(2_000) });
    const before = await pushEmails({ targets: [server!.url], key, count: 100, body });
    expect(before.unexpected).toEqual([]);

    const fillerBytes = fillDisk(filler);
    let full: Awaited<ReturnType<typeof pushEmails>>;
    let listWhileFull: number;
    try {
      full = await pushEmails({ targets: [server!.url], key, count: 40, body: (i) => body(1_000 + i) });
      listWhileFull = (await api.call("GET", "/v1/emails?limit=5")).status;
      const problem = await api.call("POST", "/v1/emails", body(2_000));
      expect(problem.status).toBe(503);
      expect(problem.headers.get("content-type")).toBe("application/problem+json");
      expect(problem.headers.get("retry-after")).toBeTruthy();
      expect(await problem.json()).toMatchObject({
        code: "unavailable",
        detail: expect.stringContaining("disk is full"),
      });
    } finally {
      rmSync(filler, { force: true });
    }
    // Some requests may still have found room in pages SQLite had already; none answered 500.
    expect(Object.keys(full.answers).filter((s) => s !== "202" && s !== "503")).toEqual([]);
    expect(full.answers["503"]).toBeGreaterThan(0);
    expect(listWhileFull).toBe(200);

    const after = await pushEmails({ targets: [server!.url], key, count: 100, body: (i) => body(3_000 + i) });
    expect(after.unexpected).toEqual([]);
    const accepted = [...before.accepted, ...full.accepted, ...after.accepted];
    await waitUntil(
      "every accepted email delivered",
      async () => {
        const { counts } = deliveryCounts(smtp.messages.map((m) => emailIdOf(m.rawText)));
        const missing = accepted.filter((id) => !counts.has(id)).length;
        return { done: missing === 0, detail: { missing } };
      },
      60_000,
      200,
    );
    // Nothing refused was stored: the emails in the database are exactly the accepted ones.
    const listed = await api.call("GET", "/v1/emails?limit=100");
    expect(listed.status).toBe(200);
    const { duplicates } = deliveryCounts(smtp.messages.map((m) => emailIdOf(m.rawText)));
    const ids = new Set(smtp.messages.map((m) => emailIdOf(m.rawText)));
    expect(ids.size).toBe(accepted.length);
    expect(server!.logs.filter((l) => l.msg === "unhandled error")).toEqual([]);
    reportFigures("SQLite on a full disk", {
      disk: DISK,
      filler_bytes: fillerBytes,
      accepted_before: before.accepted.length,
      while_full: full.answers,
      accepted_after: after.accepted.length,
      delivered: ids.size,
      duplicates,
      lost: 0,
    });
  }, 120_000);
});
