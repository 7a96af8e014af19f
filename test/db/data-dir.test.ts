// The data directory holds every email and the keys to the sealed secrets: it is created 0700
// with its files 0600 whatever the umask, and one left readable by others is tightened with a
// warning that says what was exposed.
import { afterEach, describe, expect, it } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSecretBox } from "../../src/crypto/secret-box";
import { secureDataDir } from "../../src/db/data-dir";
import { openDatabase } from "../../src/db/database";
import { migrateToLatest } from "../../src/db/migrate";

const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8);

describe("data directory permissions", () => {
  const roots: string[] = [];
  const tempRoot = () => {
    const root = mkdtempSync(join(tmpdir(), "posthorn-modes-"));
    roots.push(root);
    return root;
  };
  afterEach(() => {
    for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
  });

  it("creates a fresh data directory 0700 and the database, its WAL files and the secret key 0600, even with umask 000", async () => {
    const dataDir = join(tempRoot(), "nested", "data");
    const umask = process.umask(0);
    try {
      expect(secureDataDir(dataDir)).toEqual([]);
      loadSecretBox({ secretKey: undefined, previousSecretKeys: [], dataDir });
      const db = openDatabase({
        sqlitePath: join(dataDir, "posthorn.db"),
        sqliteSynchronous: "FULL",
        databaseUrl: undefined,
      });
      try {
        await migrateToLatest(db); // writes, so the -wal and -shm files exist
        expect(modeOf(dataDir)).toBe("700");
        for (const file of ["posthorn.db", "posthorn.db-wal", "posthorn.db-shm", "secret.key"]) {
          expect([file, modeOf(join(dataDir, file))]).toEqual([file, "600"]);
        }
      } finally {
        await db.close();
      }
    } finally {
      process.umask(umask);
    }
  });

  it("creates the directory 0700 when the database is opened first (a CLI command on a fresh volume)", async () => {
    const dataDir = join(tempRoot(), "data");
    const umask = process.umask(0);
    try {
      const db = openDatabase({
        sqlitePath: join(dataDir, "posthorn.db"),
        sqliteSynchronous: "FULL",
        databaseUrl: undefined,
      });
      await migrateToLatest(db);
      await db.close();
      expect(modeOf(dataDir)).toBe("700");
      expect(modeOf(join(dataDir, "posthorn.db"))).toBe("600");
    } finally {
      process.umask(umask);
    }
  });

  it("tightens an existing directory and files left readable by others, and says which", () => {
    const dataDir = join(tempRoot(), "data");
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o755);
    for (const file of ["posthorn.db", "posthorn.db-wal", "secret.key"]) {
      writeFileSync(join(dataDir, file), "x");
      chmodSync(join(dataDir, file), 0o644);
    }
    writeFileSync(join(dataDir, "operator-notes.txt"), "not ours");
    chmodSync(join(dataDir, "operator-notes.txt"), 0o644);

    expect(secureDataDir(dataDir)).toEqual([
      `${dataDir} was 0755, now 0700`,
      `${join(dataDir, "posthorn.db")} was 0644, now 0600`,
      `${join(dataDir, "posthorn.db-wal")} was 0644, now 0600`,
      `${join(dataDir, "secret.key")} was 0644, now 0600`,
    ]);
    expect(modeOf(dataDir)).toBe("700");
    expect(modeOf(join(dataDir, "posthorn.db"))).toBe("600");
    expect(modeOf(join(dataDir, "operator-notes.txt"))).toBe("644"); // not Posthorn's to change
    expect(secureDataDir(dataDir)).toEqual([]); // once tightened, no warning again
  });

  it("tightens an empty directory without a warning: nothing was exposed", () => {
    const dataDir = join(tempRoot(), "data");
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o777);
    expect(secureDataDir(dataDir)).toEqual([]);
    expect(modeOf(dataDir)).toBe("700");
  });
});
