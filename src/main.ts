#!/usr/bin/env bun
// The binary's entry: `posthorn <command>`.
import {
  type Command,
  healthcheckCommand,
  keyCommand,
  migrateCommand,
  serveCommand,
  tenantCommand,
  UsageError,
} from "./cli";
import { ConfigError } from "./config";
import { PosthornError } from "./errors";
import { VERSION } from "./version";

const USAGE = `posthorn ${VERSION} — self-hosted email sending in one binary

Usage: posthorn <command> [options]

Commands:
  serve        run the service (API, queue, scheduler, SMTP dispatcher)
  migrate      apply database migrations and exit
  tenant       create and list tenants
  key          create, list and revoke API keys
  healthcheck  exit 0 when a running instance is ready (for container HEALTHCHECKs)
  version      print the version

Run 'posthorn <command> --help' for a command's options.
Settings come from environment variables (POSTHORN_*, DATABASE_URL); see the README.`;

const versionCommand: Command = {
  usage: "Usage: posthorn version [--json]\n\nPrints the version.",
  async run(argv) {
    if (argv.includes("--help") || argv.includes("-h")) return void process.stdout.write(`${this.usage}\n`);
    process.stdout.write(
      argv.includes("--json") ? `${JSON.stringify({ version: VERSION })}\n` : `posthorn ${VERSION}\n`,
    );
  },
};

const COMMANDS: Record<string, Command> = {
  serve: serveCommand,
  migrate: migrateCommand,
  tenant: tenantCommand,
  key: keyCommand,
  healthcheck: healthcheckCommand,
  version: versionCommand,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (name === "--version" || name === "-v") return main(["version", ...rest]);
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`posthorn: unknown command "${name}".\n\n${USAGE}\n`);
    return 2;
  }
  try {
    const code = await command.run(rest, process.env);
    return typeof code === "number" ? code : 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`posthorn ${name}: ${err.message}\nRun 'posthorn ${name} --help' for usage.\n`);
      return 2;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`posthorn: configuration error: ${err.message}\n`);
      return 78; // EX_CONFIG
    }
    if (err instanceof PosthornError) {
      process.stderr.write(`posthorn ${name}: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`posthorn ${name}: ${(err as Error).message ?? err}\n`);
    return 1;
  }
}

process.exit(await main(process.argv.slice(2)));
