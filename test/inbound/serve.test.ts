// `posthorn serve` with POSTHORN_INBOUND_SMTP_PORT: the listener starts with the service, says
// where it listens, takes a bounce, and stops with it.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import nodemailer from "nodemailer";
import { TEST_DIALECT, type TempDatabase, tempDatabase } from "../helpers/db";
import { type ServeProcess, startServeProcess } from "../helpers/serve-process";
import { createTenantWithKey } from "../helpers/tenants";
import { autoReplyMessage } from "./reports";

const DOMAIN = "bounce.serve.test";

describe(`posthorn serve with the inbound listener (${TEST_DIALECT})`, () => {
  let temp: TempDatabase;
  let server: ServeProcess | undefined;
  beforeAll(async () => {
    temp = await tempDatabase();
    const { tenantId } = await createTenantWithKey(temp.db.kysely, "serve");
    await temp.db.kysely.updateTable("tenants").set({ bounce_domain: DOMAIN }).where("id", "=", tenantId).execute();
  });
  afterAll(async () => {
    if (server) server.kill("SIGKILL");
    await temp.cleanup();
  });

  it("logs where it listens, answers 250 after recording a message, and stops on SIGTERM", async () => {
    server = await startServeProcess({
      ...temp.env,
      POSTHORN_INBOUND_SMTP_PORT: "0",
      POSTHORN_INBOUND_SMTP_HOST: "127.0.0.1",
    });
    const deadline = Date.now() + 10_000;
    const listeningLog = () => server?.logs.find((l) => l.msg === "inbound SMTP listening");
    while (!listeningLog()) {
      if (Date.now() > deadline) throw new Error(`no listener log: ${JSON.stringify(server.logs)}`);
      await Bun.sleep(20); // a child process's log: polled
    }
    const listening = listeningLog()!;
    expect(listening).toMatchObject({ host: "127.0.0.1" });
    const port = Number(listening.port);
    expect(port).toBeGreaterThan(0);

    const transport = nodemailer.createTransport({ host: "127.0.0.1", port, secure: false, ignoreTLS: true });
    const info = await transport.sendMail({
      envelope: { from: "", to: [`bounces@${DOMAIN}`] },
      raw: Buffer.from(autoReplyMessage()),
    });
    transport.close();
    expect(info.response).toMatch(/^250 2\.0\.0 inb_[0-9a-z]{26}$/);

    server.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    server = undefined;
    const rows = await temp.db.kysely.selectFrom("inbound_messages").select(["kind", "outcome"]).execute();
    expect(rows).toEqual([expect.objectContaining({ kind: "auto_reply" })]);
  }, 30_000);
});
