// `posthorn healthcheck`: asks a running instance whether it is ready. For container
// HEALTHCHECKs in images that carry no curl or wget.
import { loadConfig } from "../config";
import { parseFlags, UsageError } from "./args";
import type { Command } from "./commands";

const DEFAULT_TIMEOUT_MS = 5000;

/** Where this machine reaches its own server: a wildcard listen address is reached on loopback. */
function localUrl(host: string, port: number): string {
  const reachable = host === "0.0.0.0" || host === "::" || host === "[::]" ? "127.0.0.1" : host;
  const bracketed = reachable.includes(":") && !reachable.startsWith("[") ? `[${reachable}]` : reachable;
  return `http://${bracketed}:${port}/health/ready`;
}

export const healthcheckCommand: Command = {
  usage: `Usage: posthorn healthcheck [options]

Asks a running Posthorn whether it is ready (GET /health/ready, which checks the
database) and exits 0 when it answers 200, 1 otherwise. Meant for container
HEALTHCHECKs: it needs no curl or wget in the image.

  --url URL              the readiness URL to ask
                         (default http://127.0.0.1:$POSTHORN_PORT/health/ready)
  --port N               port of the local instance (POSTHORN_PORT, default 8080)
  --timeout MS           give up after this many milliseconds (default ${DEFAULT_TIMEOUT_MS})
  --json                 print {"ready": …, "status": …} instead of a line`,
  async run(argv, env) {
    const { values } = parseFlags(argv, {
      url: { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      timeout: { type: "string" },
    });
    if (values.help) return void process.stdout.write(`${this.usage}\n`);
    const timeoutMs = values.timeout === undefined ? DEFAULT_TIMEOUT_MS : Number(values.timeout);
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1) {
      throw new UsageError(`--timeout must be a whole number of milliseconds, not "${values.timeout}".`);
    }
    let url = values.url;
    if (url === undefined) {
      const config = loadConfig(env, { port: values.port, host: values.host });
      url = localUrl(config.host, config.port);
    } else if (!/^https?:\/\//.test(url)) {
      throw new UsageError(`--url must be an http:// or https:// URL, not "${url}".`);
    }

    let status = 0;
    let error: string | undefined;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      status = res.status;
      await res.arrayBuffer();
    } catch (err) {
      error = (err as Error).name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : (err as Error).message;
    }
    const ready = status === 200;
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ ready, url, status: status || null, error: error ?? null })}\n`);
    } else {
      process.stdout.write(ready ? `ready (${url})\n` : `not ready: ${error ?? `${url} answered ${status}`}\n`);
    }
    return ready ? 0 : 1;
  },
};
