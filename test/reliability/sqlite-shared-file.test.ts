// One SQLite file is not shared by several servers, but the CLI runs beside the server on the
// same file (tenants and keys made while it serves): one compiled server sending while two CLI
// processes write, and every email still delivered exactly once.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { SENDING_ENV } from "../helpers/app";
import { compiledBinary } from "../helpers/binary";
import { runCliJson } from "../helpers/cli";
import { TEST_DIALECT, type TempDatabase, tempDatabase } from "../helpers/db";
import { deliveryCounts, emailIdOf, reportFigures } from "../helpers/figures";
import { httpClient } from "../helpers/http-client";
import { pushEmails } from "../helpers/load";
import { createSmtpAccount, SINK } from "../helpers/sending";
import { type ServeProcess, startServeProcess } from "../helpers/serve-process";
import { startSmtpServer, type TestSmtpServer } from "../helpers/smtp-server";
import { createTenantWithKey } from "../helpers/tenants";

// Runs in the SQLite pass of the suite only: several servers never share one SQLite file.
if (TEST_DIALECT === "sqlite")
  describe("one server and two CLI processes on one SQLite file", () => {
    let temp: TempDatabase;
    let smtp: TestSmtpServer;
    let server: ServeProcess | undefined;
    beforeAll(async () => {
      temp = await tempDatabase();
      smtp = await startSmtpServer();
    });
    afterAll(async () => {
      server?.kill("SIGKILL");
      await server?.exited;
      await smtp?.close();
      await temp?.cleanup();
    });

    it("serves and sends while two CLI processes create tenants and keys in the same file", async () => {
      const binary = await compiledBinary();
      const env = { ...temp.env, ...SENDING_ENV };
      server = await startServeProcess(env, { binary });
      const tenant = await createTenantWithKey(temp.db.kysely, "server");
      await createSmtpAccount(server.url, tenant.key, smtp, { ...SINK, from_email: "s@example.com" });

      const cliLoop = async (name: string) => {
        const keys: string[] = [];
        for (let i = 0; i < 5; i++) {
          const t = await runCliJson<{ id: string }>(["tenant", "create", "--name", `${name}-${i}`], env, binary);
          keys.push(
            (await runCliJson<{ key: string }>(["key", "create", "--tenant", t.id, "--name", "k"], env, binary)).key,
          );
        }
        return keys;
      };
      const [push, keysA, keysB] = await Promise.all([
        pushEmails({
          targets: [server.url],
          key: tenant.key,
          count: 600,
          body: (i) => ({ to: [`r${i}@example.org`], subject: "s", text: "x" }),
        }),
        cliLoop("cli-a"),
        cliLoop("cli-b"),
      ]);
      expect(push.unexpected).toEqual([]);
      // Keys written by the CLI authenticate on the running server at once.
      for (const key of [...keysA, ...keysB]) {
        expect((await httpClient(server.url, key).call("GET", "/v1/me")).status).toBe(200);
      }
      await smtp.waitForMessages(600, 30_000);
      await Bun.sleep(300);
      const { counts, duplicates } = deliveryCounts(smtp.messages.map((m) => emailIdOf(m.rawText)));
      const lost = push.accepted.filter((id) => !counts.has(id)).length;
      expect({ lost, duplicates }).toEqual({ lost: 0, duplicates: 0 });
      reportFigures("server and CLI on one SQLite file", {
        pushed: 600,
        cli_processes: 2,
        tenants_and_keys_created: keysA.length + keysB.length,
        duplicates,
        lost,
      });
    }, 90_000);
  });
