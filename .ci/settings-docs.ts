// Writes the settings tables of README.md (the common ones) and docs/configuration.md (all of
// them) from the table in src/config.ts: `bun .ci/settings-docs.ts`. test/config.test.ts fails
// when they differ.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { settingsDocs } from "../test/helpers/settings-docs";

const root = join(import.meta.dir, "..");
for (const [file, text] of settingsDocs((f) => readFileSync(join(root, f), "utf8"))) {
  writeFileSync(join(root, file), text);
}
