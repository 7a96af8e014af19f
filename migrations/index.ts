// Every migration, in order, as a static import map: `bun build --compile` embeds them, so
// the binary migrates its database from an empty directory.
import type { Migration } from "kysely/migration";
import * as m001 from "./001_foundation";
import * as m002 from "./002_sending";
import * as m003 from "./003_content";
import * as m004 from "./004_observability";
import * as m005 from "./005_fair_claims";
import * as m006 from "./006_instances";
import * as m007 from "./007_key_scopes";
import * as m008 from "./008_delivery_feedback";
import * as m009 from "./009_tracking";

export const migrations: Record<string, Migration> = {
  "001_foundation": m001,
  "002_sending": m002,
  "003_content": m003,
  "004_observability": m004,
  "005_fair_claims": m005,
  "006_instances": m006,
  "007_key_scopes": m007,
  "008_delivery_feedback": m008,
  "009_tracking": m009,
};
