// `bun run bench [accept|dispatch|e2e|batch|scale|footprint|all …] [--db sqlite|postgres|both]`
// Runs the chosen benchmarks (default: all, on both databases), prints one markdown table per
// benchmark and merges them into test/bench/RESULTS.md. Not part of `bun test`: nothing here
// is named *.test.ts.
import { join } from "node:path";
import { parseArgs } from "node:util";
import { accept } from "./benchmarks/accept";
import { batch } from "./benchmarks/batch";
import { dispatch } from "./benchmarks/dispatch";
import { e2e } from "./benchmarks/e2e";
import { fairness } from "./benchmarks/fairness";
import { footprint } from "./benchmarks/footprint";
import { scale } from "./benchmarks/scale";
import { cleanupAll, installCleanupHandlers, interrupted } from "./lib/cleanup";
import type { BenchContext, Benchmark } from "./lib/context";
import { BENCH_PG_URL, describePg, pgAvailable } from "./lib/pg";
import { hasCommand } from "./lib/process";
import type { Dialect } from "./lib/product";
import { machineInfo, renderSection, type Section, writeResults } from "./lib/report";
import { smtpToolsAvailable } from "./lib/smtp-sink";

const BENCHMARKS: Benchmark[] = [accept, dispatch, e2e, fairness, batch, scale, footprint];
const RESULTS = join(import.meta.dir, "RESULTS.md");

const USAGE = `Usage: bun run bench [${BENCHMARKS.map((b) => b.name).join("|")}|all …] [--db sqlite|postgres|both]

Postgres: POSTHORN_BENCH_DATABASE_URL (default ${describePg()}); each run uses a schema of its own.
Tools: wrk, smtp-sink/smtp-source (postfix), hyperfine — install with test/bench/setup.sh.
Results are printed and merged into test/bench/RESULTS.md.`;

function parseCli(argv: string[]): { selected: Benchmark[]; dialects: Dialect[] } {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { db: { type: "string", default: "both" }, help: { type: "boolean", short: "h" } },
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const names = positionals.length === 0 || positionals.includes("all") ? BENCHMARKS.map((b) => b.name) : positionals;
  const selected = names.map((n) => {
    const b = BENCHMARKS.find((x) => x.name === n);
    if (!b) {
      process.stderr.write(`Unknown benchmark "${n}".\n\n${USAGE}\n`);
      process.exit(2);
    }
    return b;
  });
  const db = values.db;
  if (db !== "sqlite" && db !== "postgres" && db !== "both") {
    process.stderr.write(`--db must be sqlite, postgres or both, not "${db}".\n`);
    process.exit(2);
  }
  return { selected, dialects: db === "both" ? ["sqlite", "postgres"] : [db] };
}

function checkTools(): void {
  const missing = ["wrk", "hyperfine"].filter((t) => !hasCommand(t));
  if (!smtpToolsAvailable()) missing.push("smtp-sink/smtp-source");
  if (missing.length) {
    process.stderr.write(`Missing: ${missing.join(", ")}. Installing with test/bench/setup.sh…\n`);
    const r = Bun.spawnSync(["bash", join(import.meta.dir, "setup.sh")], { stdout: "inherit", stderr: "inherit" });
    if (r.exitCode !== 0) throw new Error("test/bench/setup.sh failed; install wrk, postfix and hyperfine by hand");
  }
}

async function main(): Promise<number> {
  installCleanupHandlers();
  const { selected, dialects } = parseCli(process.argv.slice(2));
  checkTools();
  const info = machineInfo();
  const ctxBase: Omit<BenchContext, "log"> = { dialects: [...dialects], unavailable: {} };
  if (dialects.includes("postgres") && !(await pgAvailable())) {
    ctxBase.dialects = dialects.filter((d) => d !== "postgres");
    ctxBase.unavailable.postgres = `skipped: no Postgres answers at ${describePg(BENCH_PG_URL)} (set POSTHORN_BENCH_DATABASE_URL)`;
    process.stderr.write(`${ctxBase.unavailable.postgres}\n`);
  }

  const sections: Section[] = [];
  let failures = 0;
  for (const bench of selected) {
    const started = performance.now();
    const log = (m: string) => process.stderr.write(`[${bench.name}] ${m}\n`);
    log("start");
    let rows: Section["rows"];
    try {
      rows = await bench.run({ ...ctxBase, log });
    } catch (e) {
      await interrupted(); // Ctrl-C: never returns, the process exits once cleaned up
      failures++;
      log(`FAILED: ${(e as Error).stack ?? e}`);
      rows = [{ benchmark: bench.name, dialect: "—", notes: `failed: ${(e as Error).message.split("\n")[0]}` }];
    }
    await interrupted();
    await cleanupAll();
    if (bench.perDialect) {
      for (const [dialect, why] of Object.entries(ctxBase.unavailable)) {
        if (dialects.includes(dialect as Dialect)) rows.push({ benchmark: bench.name, dialect, notes: why });
      }
    }
    const section: Section = {
      name: bench.name,
      title: bench.title,
      about: bench.about,
      rows,
      measuredAt: `${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC in ${((performance.now() - started) / 1000).toFixed(0)} s`,
    };
    sections.push(section);
    process.stdout.write(`\n${renderSection(section)}\n`);
  }
  writeResults(
    RESULTS,
    sections,
    BENCHMARKS.map((b) => b.name),
    info,
  );
  process.stderr.write(`\nWrote ${RESULTS}\n`);
  return failures ? 1 : 0;
}

const code = await main().catch(async (e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  return 1;
});
await cleanupAll();
process.exit(code);
