// The compiled executable, as users run it: built once per test run into a temp directory
// with `bun run build` (about a second here), deleted after the last test file by the
// global afterAll in test/preload.ts (bun test fires no process "exit" to hang it on).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "./cli";

let built: Promise<string> | undefined;
let buildDir: string | undefined;

/** Path of a freshly compiled `posthorn` built from the working tree. */
export function compiledBinary(): Promise<string> {
  built ??= build();
  return built;
}

async function build(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "posthorn-bin-"));
  buildDir = dir;
  const outfile = join(dir, "posthorn");
  // `bun run build` itself (its entry points include the send thread), only the output elsewhere.
  const proc = Bun.spawn([process.execPath, "run", "build", "--outfile", outfile], {
    cwd: REPO_ROOT,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  if (code !== 0) throw new Error(`bun build --compile exited ${code}: ${stderr}`);
  return outfile;
}

/** Deletes the binary built by this run, if any. */
export function removeCompiledBinary(): void {
  if (buildDir) rmSync(buildDir, { recursive: true, force: true });
  buildDir = undefined;
  built = undefined;
}
