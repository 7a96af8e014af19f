// The data directory holds the whole mail store (bodies, addresses, sealed SMTP passwords) and
// perhaps the secret key: only the user Posthorn runs as may read it. Modes are set with chmod,
// so they hold whatever the umask is.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from "node:fs";
import { dirname, join } from "node:path";

export const DATA_DIR_MODE = 0o700;
export const DATA_FILE_MODE = 0o600;
/** What Posthorn keeps in the data directory (SQLite with its WAL files, the generated secret key). */
export const DATA_FILES = ["posthorn.db", "posthorn.db-wal", "posthorn.db-shm", "secret.key"];

/** Creates `dir` (and its missing parents) for Posthorn's use only. */
export function makeDataDir(dir: string): void {
  const created = mkdirSync(dir, { recursive: true, mode: DATA_DIR_MODE });
  if (created !== undefined) chmodSync(dir, DATA_DIR_MODE);
}

/**
 * Creates the SQLite file 0600 before SQLite opens it: SQLite gives its -wal and -shm files the
 * mode of the database file, so all three are private from the start.
 */
export function makeDatabaseFile(path: string): void {
  makeDataDir(dirname(path));
  if (existsSync(path)) return;
  closeSync(openSync(path, "a", DATA_FILE_MODE));
  chmodSync(path, DATA_FILE_MODE);
}

const loose = (mode: number, allowed: number) => (mode & 0o777 & ~allowed) !== 0;
const octal = (mode: number) => (mode & 0o777).toString(8).padStart(4, "0");

/**
 * Makes the data directory 0700 and Posthorn's files in it 0600, creating the directory if it
 * is missing. Only what this user owns is changed (chmod of anything else fails anyway). Returns
 * one line for each thing that was readable by others while it held data, for a warning; an
 * empty or new directory is tightened without a word, since nothing was exposed.
 */
export function secureDataDir(dir: string, files: string[] = DATA_FILES): string[] {
  if (!existsSync(dir)) {
    makeDataDir(dir);
    return [];
  }
  const uid = process.getuid?.();
  const mine = (st: { uid: number }) => uid === undefined || st.uid === uid;
  const tightened: string[] = [];
  let holdsData = false;
  for (const name of files) {
    const path = join(dir, name);
    if (!existsSync(path)) continue;
    holdsData = true;
    const st = statSync(path);
    if (!mine(st) || !loose(st.mode, DATA_FILE_MODE)) continue;
    chmodSync(path, DATA_FILE_MODE);
    tightened.push(`${path} was ${octal(st.mode)}, now ${octal(DATA_FILE_MODE)}`);
  }
  const st = statSync(dir);
  if (mine(st) && loose(st.mode, DATA_DIR_MODE)) {
    chmodSync(dir, DATA_DIR_MODE);
    if (holdsData) tightened.unshift(`${dir} was ${octal(st.mode)}, now ${octal(DATA_DIR_MODE)}`);
  }
  return tightened;
}
