// Footprint: the compiled binary's size, cold start to /health/ready (median of 10 starts, each
// timed from spawn to the first 200), and idle RSS. Baseline: the bare Hono + bun:sqlite
// INSERT server compiled the same way — the Bun runtime with the least an HTTP + SQLite
// service needs, so the ratio shows what Posthorn itself adds.
import { statSync } from "node:fs";
import { join } from "node:path";
import type { BenchContext, Benchmark } from "../lib/context";
import { createBenchSchema } from "../lib/pg";
import { freePort, mustRun, REPO_ROOT, sleep, startServer, tempDir } from "../lib/process";
import { attempt, isSkipped, productEnv } from "../lib/product";
import { measure, type Row } from "../lib/report";
import { median } from "../lib/stats";

const STARTS = 10;
/** How long a server idles before its RSS is read (let start-up garbage be collected). */
const IDLE_MS = 1000;
const MB = 1024 * 1024;

/** `bun run build`'s own command line (from package.json), writing to `outfile` instead of dist/. */
async function buildProduct(outfile: string): Promise<void> {
  const pkg = await Bun.file(join(REPO_ROOT, "package.json")).json();
  const args = String(pkg.scripts.build).split(/\s+/);
  const at = args.indexOf("--outfile");
  if (args[0] !== "bun" || at < 0) throw new Error(`unexpected build script: ${pkg.scripts.build}`);
  args[at + 1] = outfile;
  await mustRun(args, { timeoutMs: 180_000 });
}

async function buildBaseline(entry: string, outfile: string): Promise<void> {
  await mustRun(
    ["bun", "build", join(import.meta.dir, "..", "baselines", entry), "--compile", "--minify", "--outfile", outfile],
    {
      timeoutMs: 180_000,
    },
  );
}

interface Starts {
  medianMs: number;
  idleRssKb: number | undefined;
}

/** Starts a server STARTS times (fresh state from `env(i)` each time) and keeps the median time to ready. */
async function timeStarts(
  cmd: string[],
  readyPath: string,
  env: (i: number) => Record<string, string>,
): Promise<Starts> {
  const times: number[] = [];
  let idleRssKb: number | undefined;
  for (let i = 0; i < STARTS; i++) {
    const port = freePort();
    const server = await startServer({
      name: cmd[0]!,
      cmd,
      env: { ...env(i), PORT: String(port), POSTHORN_PORT: String(port) },
      port,
      readyPath,
    });
    try {
      times.push(server.readyMs);
      if (i === STARTS - 1) {
        await sleep(IDLE_MS);
        idleRssKb = server.rssKb();
      }
    } finally {
      await server.stop();
    }
  }
  return { medianMs: median(times), idleRssKb };
}

const rss = (kb: number | undefined) => (kb === undefined ? undefined : measure(kb / 1024, "MB"));

type Maybe<T> = T | { skipped: string };
const ms = (s: Maybe<Starts>) => (isSkipped(s) ? undefined : measure(s.medianMs, "ms"));
const idle = (s: Maybe<Starts>) => (isSkipped(s) ? undefined : rss(s.idleRssKb));
const noteOr = (s: Maybe<unknown>, note: string) => (isSkipped(s) ? s.skipped : note);

export const footprint: Benchmark = {
  name: "footprint",
  title: "Footprint: binary, cold start, memory",
  about: `The \`bun run build\` binary: size, spawn → first 200 from /health/ready (median of ${STARTS}), RSS after ${IDLE_MS / 1000} s idle; baseline: the bare Hono + bun:sqlite server compiled the same way.`,
  perDialect: true,
  async run(ctx: BenchContext) {
    const dir = tempDir("footprint");
    try {
      const ours = join(dir.path, "posthorn");
      const bare = join(dir.path, "bare-sqlite");
      ctx.log("building the bare baseline and the product (bun run build's command)");
      await buildBaseline("hono-sqlite-insert.ts", bare);
      const built = await attempt(() => buildProduct(ours));
      // Our side only runs when the product built; the baselines always do.
      const oursTimed = (fn: () => Promise<Starts>): Promise<Maybe<Starts>> =>
        isSkipped(built) ? Promise.resolve(built) : attempt(fn);
      const rows: Row[] = [
        {
          benchmark: "binary size",
          dialect: "—",
          ours: isSkipped(built) ? undefined : measure(statSync(ours).size / MB, "MB"),
          baseline: measure(statSync(bare).size / MB, "MB"),
          notes: noteOr(built, "the Bun runtime is most of both"),
        },
      ];

      if (ctx.dialects.includes("sqlite")) {
        ctx.log("cold starts on SQLite: empty data directory, then restarts");
        const first = await oursTimed(() =>
          timeStarts([ours, "serve"], "/health/ready", (i) => productEnv(join(dir.path, `first-${i}`))),
        );
        const again = await oursTimed(() =>
          timeStarts([ours, "serve"], "/health/ready", () => productEnv(join(dir.path, "again"))),
        );
        const base = await timeStarts([bare], "/health", (i) => ({ DB_PATH: join(dir.path, `bare-${i}.db`) }));
        rows.push(
          {
            benchmark: "cold start to ready, empty data dir",
            dialect: "sqlite",
            ours: ms(first),
            baseline: measure(base.medianMs, "ms"),
            notes: noteOr(first, "target < 200 ms; ours creates and migrates the database"),
          },
          {
            benchmark: "cold start to ready, existing database",
            dialect: "sqlite",
            ours: ms(again),
            baseline: measure(base.medianMs, "ms"),
            notes: noteOr(again, "target < 200 ms; the usual restart"),
          },
          {
            benchmark: "idle RSS",
            dialect: "sqlite",
            ours: idle(again),
            baseline: rss(base.idleRssKb),
            notes: noteOr(again, "lower is better"),
          },
        );
      }

      if (ctx.dialects.includes("postgres")) {
        ctx.log("cold starts on Postgres (schema migrated by the first start)");
        const schema = await createBenchSchema("footprint");
        const bareSchema = await createBenchSchema("footprint_bare");
        try {
          const barePg = join(dir.path, "bare-postgres");
          await buildBaseline("hono-postgres-insert.ts", barePg);
          const starts = await oursTimed(() =>
            timeStarts([ours, "serve"], "/health/ready", () => productEnv(join(dir.path, "pg"), schema.url)),
          );
          const base = await timeStarts([barePg], "/health", () => ({ DATABASE_URL: bareSchema.url }));
          rows.push(
            {
              benchmark: "cold start to ready, existing database",
              dialect: "postgres",
              ours: ms(starts),
              baseline: measure(base.medianMs, "ms"),
              notes: noteOr(
                starts,
                "target < 200 ms; connects and checks migrations (the first of the starts applies them)",
              ),
            },
            {
              benchmark: "idle RSS",
              dialect: "postgres",
              ours: idle(starts),
              baseline: rss(base.idleRssKb),
              notes: noteOr(starts, "lower is better"),
            },
          );
        } finally {
          await schema.drop();
          await bareSchema.drop();
        }
      }
      return rows;
    } finally {
      await dir.remove();
    }
  },
};
