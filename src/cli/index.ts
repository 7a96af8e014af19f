// The command line's face, for main.ts: one command per verb.
export { UsageError } from "./args";
export { type Command, keyCommand, migrateCommand, tenantCommand } from "./commands";
export { healthcheckCommand } from "./healthcheck";
export { serveCommand } from "./serve";
