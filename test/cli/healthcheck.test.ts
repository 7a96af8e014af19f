// `posthorn healthcheck` (the container HEALTHCHECK) against a real `posthorn serve`, and the
// server's clean exit on SIGTERM.
import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { runCli } from "../helpers/cli";
import { TEST_DIALECT, type TempDatabase, tempDatabase } from "../helpers/db";
import { type ServeProcess, startServeProcess } from "../helpers/serve-process";

// Cases here start real processes (bun src/main.ts …), which take longer on a busy CI machine.
setDefaultTimeout(30_000);

/** A port nobody listens on: bound once by us, then released. */
function closedPort(): number {
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = server.port!;
  server.stop(true);
  return port;
}

describe(`posthorn healthcheck (${TEST_DIALECT})`, () => {
  let temp: TempDatabase;
  let server: ServeProcess;
  let port: string;
  beforeAll(async () => {
    temp = await tempDatabase();
    server = await startServeProcess(temp.env);
    port = new URL(server.url).port;
  });
  afterAll(async () => {
    server.kill("SIGKILL");
    await server.exited;
    await temp.cleanup();
  });

  it("exits 0 when the local instance on POSTHORN_PORT is ready", async () => {
    const r = await runCli(["healthcheck"], { POSTHORN_PORT: port });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(`ready (http://127.0.0.1:${port}/health/ready)\n`);
  });

  it("asks the port given by --port, or the URL given by --url", async () => {
    expect((await runCli(["healthcheck", "--port", port])).exitCode).toBe(0);
    const r = await runCli(["healthcheck", "--url", `${server.url}/health/ready`, "--json"]);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ ready: true, url: `${server.url}/health/ready`, status: 200, error: null });
  });

  it("exits 1 when nothing listens there", async () => {
    const r = await runCli(["healthcheck", "--port", String(closedPort())]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toStartWith("not ready: ");
  });

  it("exits 1 when the URL answers something other than 200", async () => {
    const r = await runCli(["healthcheck", "--url", `${server.url}/no-such-route`, "--json"]);
    expect(r.exitCode).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ready: false, status: 404 });
  });

  it("exits 1 when the server does not answer within --timeout", async () => {
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const started = performance.now();
      const r = await runCli([
        "healthcheck",
        "--url",
        `http://127.0.0.1:${silent.port}/health/ready`,
        "--timeout",
        "300",
      ]);
      expect(r.exitCode).toBe(1);
      expect(r.stdout).toContain("no answer within 300 ms");
      expect(performance.now() - started).toBeLessThan(5000);
    } finally {
      silent.stop(true);
    }
  });

  it("exits 2 for a URL that is not http(s) or a bad timeout", async () => {
    expect((await runCli(["healthcheck", "--url", "ftp://x/"])).exitCode).toBe(2);
    expect((await runCli(["healthcheck", "--timeout", "soon"])).exitCode).toBe(2);
  });

  it("lets the server exit 0 on SIGTERM, after which the healthcheck fails", async () => {
    const second = await startServeProcess(temp.env);
    const secondPort = new URL(second.url).port;
    expect((await runCli(["healthcheck", "--port", secondPort])).exitCode).toBe(0);
    second.kill("SIGTERM");
    const code = await Promise.race([second.exited, Bun.sleep(10_000).then(() => "timeout")]);
    expect(code).toBe(0);
    expect(second.logs.some((l) => l.msg === "shutting down" && l.signal === "SIGTERM")).toBe(true);
    expect((await runCli(["healthcheck", "--port", secondPort, "--timeout", "1000"])).exitCode).toBe(1);
  });
});
