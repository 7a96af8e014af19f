// The management commands: each opens the configured database (migrating it first, so they
// work on a fresh data directory), does one thing, and closes it.
import { API_KEY_SCOPES, createApiKey, listApiKeys, revokeApiKey } from "../api-keys";
import { loadConfig } from "../config";
import type { Db } from "../db";
import { migrateToLatest } from "../db";
import { allPages, MAX_PAGE_SIZE } from "../pagination";
import { openConfiguredDatabase } from "../service";
import { createTenant, listTenants } from "../tenants";
import { DATABASE_FLAGS, DATABASE_FLAGS_HELP, parseFlags, requireFlag, UsageError } from "./args";
import { printResult, table } from "./output";

type Env = Record<string, string | undefined>;

export interface Command {
  usage: string;
  /** Resolves to the exit code when it is a number (0 otherwise); failures throw. */
  run(argv: string[], env: Env): Promise<unknown>;
}

async function withDatabase<T>(env: Env, flags: Record<string, unknown>, fn: (db: Db) => Promise<T>): Promise<T> {
  const config = loadConfig(env, flags as never);
  const db = openConfiguredDatabase(config);
  try {
    await migrateToLatest(db);
    return await fn(db);
  } finally {
    await db.close();
  }
}

const help = (usage: string): void => void process.stdout.write(`${usage}\n`);

export const migrateCommand: Command = {
  usage: `Usage: posthorn migrate [--json]

Applies pending database migrations (they are embedded in the binary) and exits.
'serve' does the same at start; safe when several instances run it at once.

${DATABASE_FLAGS_HELP}`,
  async run(argv, env) {
    const { values } = parseFlags(argv, DATABASE_FLAGS);
    if (values.help) return help(this.usage);
    const config = loadConfig(env, values);
    const db = openConfiguredDatabase(config);
    try {
      const { applied } = await migrateToLatest(db);
      printResult(
        values.json,
        { applied },
        applied.length ? `Applied: ${applied.join(", ")}` : "Database is up to date.",
      );
    } finally {
      await db.close();
    }
  },
};

export const tenantCommand: Command = {
  usage: `Usage: posthorn tenant <create|list> [options]

  posthorn tenant create --name NAME [--json]   create a tenant; prints its id
  posthorn tenant list [--json]                 list tenants

${DATABASE_FLAGS_HELP}`,
  async run(argv, env) {
    const { values, positionals } = parseFlags(argv, { ...DATABASE_FLAGS, name: { type: "string" } });
    const [sub] = positionals;
    if (values.help || !sub) return help(this.usage);
    if (sub === "create") {
      const name = requireFlag(values, "name");
      const tenant = await withDatabase(env, values, (db) => createTenant(db.kysely, { name }));
      return printResult(values.json, tenant, tenant.id);
    }
    if (sub === "list") {
      const tenants = await withDatabase(env, values, (db) =>
        allPages((cursor) => listTenants(db.kysely, { limit: MAX_PAGE_SIZE, cursor })),
      );
      return printResult(
        values.json,
        { data: tenants },
        tenants.length
          ? table([["ID", "NAME", "CREATED"], ...tenants.map((t) => [t.id, t.name, t.created_at])])
          : "No tenants yet.",
      );
    }
    throw new UsageError(`Unknown subcommand "tenant ${sub}".\n\n${this.usage}`);
  },
};

export const keyCommand: Command = {
  usage: `Usage: posthorn key <create|list|revoke> [options]

  posthorn key create --tenant TENANT_ID --name NAME [--scope sending|full] [--daily-limit N] [--json]
                                   create an API key; prints the key ONCE.
                                   --scope full: every route (accounts, webhooks, suppressions…);
                                   sending: send, upload attachments, read what it sent.
                                   Default: full for the tenant's first key, sending after it.
  posthorn key list --tenant TENANT_ID [--json]
                                   list a tenant's keys (never the keys themselves)
  posthorn key revoke KEY_ID [--json]
                                   revoke a key (stops working within seconds)

${DATABASE_FLAGS_HELP}`,
  async run(argv, env) {
    const { values, positionals } = parseFlags(argv, {
      ...DATABASE_FLAGS,
      tenant: { type: "string" },
      name: { type: "string" },
      "daily-limit": { type: "string" },
      scope: { type: "string" },
    });
    const [sub, arg] = positionals;
    if (values.help || !sub) return help(this.usage);
    if (sub === "create") {
      const tenantId = requireFlag(values, "tenant");
      const name = requireFlag(values, "name");
      const rawLimit = values["daily-limit"];
      if (rawLimit !== undefined && !/^[1-9]\d*$/.test(rawLimit)) {
        throw new UsageError(`--daily-limit must be a whole number of at least 1, not "${rawLimit}".`);
      }
      const scope = values.scope;
      if (scope !== undefined && !API_KEY_SCOPES.includes(scope as never)) {
        throw new UsageError(`--scope must be one of ${API_KEY_SCOPES.join(", ")}, not "${scope}".`);
      }
      const key = await withDatabase(env, values, (db) =>
        createApiKey(db.kysely, {
          tenantId,
          name,
          dailyLimit: rawLimit === undefined ? null : Number(rawLimit),
          scope,
        }),
      );
      return printResult(
        values.json,
        key,
        `${key.key}\n\nThis is the only time the key is shown: store it now. ` +
          `(id ${key.id}, tenant ${key.tenant_id}, scope ${key.scope})`,
      );
    }
    if (sub === "list") {
      const tenantId = requireFlag(values, "tenant");
      const keys = await withDatabase(env, values, (db) =>
        allPages((cursor) => listApiKeys(db.kysely, tenantId, { limit: MAX_PAGE_SIZE, cursor })),
      );
      return printResult(
        values.json,
        { data: keys },
        keys.length
          ? table([
              ["ID", "NAME", "PREFIX", "SCOPE", "DAILY LIMIT", "LAST USED", "REVOKED"],
              ...keys.map((k) => [
                k.id,
                k.name,
                k.prefix,
                k.scope,
                String(k.daily_limit ?? "-"),
                k.last_used_at ?? "-",
                k.revoked_at ?? "-",
              ]),
            ])
          : "No keys for this tenant.",
      );
    }
    if (sub === "revoke") {
      if (!arg) throw new UsageError("Name the key to revoke: posthorn key revoke KEY_ID");
      const key = await withDatabase(env, values, (db) => revokeApiKey(db.kysely, arg));
      return printResult(values.json, key, `Revoked ${key.id} (${key.name}).`);
    }
    throw new UsageError(`Unknown subcommand "key ${sub}".\n\n${this.usage}`);
  },
};
