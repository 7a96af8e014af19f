import { loadConfig, settingsHelp } from "../config";
import { BounceDomains, type InboundListener, startInboundListener } from "../inbound";
import { createLogger } from "../logger";
import { startService } from "../service";
import { DATABASE_FLAGS, DATABASE_FLAGS_HELP, parseFlags } from "./args";
import type { Command } from "./commands";

export const serveCommand: Command = {
  usage: `Usage: posthorn serve [options]

Runs the API, the queue, the scheduler and the SMTP dispatcher in this process.
Creates the data directory and migrates the database on start. Stops cleanly on
SIGTERM/SIGINT.

  --port N               listen port (POSTHORN_PORT, default 8080)
  --host HOST            listen address (POSTHORN_HOST, default 0.0.0.0)
${DATABASE_FLAGS_HELP}
  --log-level LEVEL      debug | info | warn | error (POSTHORN_LOG_LEVEL)

Settings (environment variables; the flags above override them):
${settingsHelp()}

Durations take ms, s, m, h, d; sizes kb, mb, gb. See docs/configuration.md.`,
  async run(argv, env) {
    const { values } = parseFlags(argv, { ...DATABASE_FLAGS, port: { type: "string" }, host: { type: "string" } });
    if (values.help) {
      process.stdout.write(`${this.usage}\n`);
      return;
    }
    const config = loadConfig(env, values);
    const log = createLogger(config.logLevel);
    const service = await startService(config, log);
    let inbound: InboundListener | undefined;
    if (config.inboundSmtpPort !== undefined) {
      try {
        const { deps } = service;
        inbound = await startInboundListener(
          { ...deps, domains: new BounceDomains(deps.db) },
          {
            host: config.inboundSmtpHost,
            port: config.inboundSmtpPort,
            maxBytes: config.inboundMaxBytes,
            maxConnections: config.inboundMaxConnections,
          },
        );
        log.info("inbound SMTP listening", { host: inbound.host, port: inbound.port });
      } catch (err) {
        await service.stop();
        throw err;
      }
    }

    await new Promise<void>((resolve) => {
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info("shutting down", { signal });
        // The listener first: a message in DATA is answered (or refused 4xx) while the database is still open.
        Promise.resolve(inbound?.close())
          .then(() => service.stop())
          .then(resolve, (err) => {
            log.error("error while shutting down", { err });
            resolve();
          });
      };
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
    });
    log.info("stopped");
  },
};
