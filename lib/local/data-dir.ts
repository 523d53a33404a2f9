/**
 * The local data dir (LOCAL_DATA_DIR, default `.local/`): made usable, or refused at once with the reason.
 *
 * - `prepareDataDir` creates the directory one level at a time (Node's recursive mkdir spins forever on some
 *   paths, e.g. under /proc) and proves it writable by creating and removing a file in it, so an unusable
 *   dir fails before the store, the key or the port are touched, with the system's own reason.
 * - `lockDataDir` records which process uses the store (`<store>.pid`), so a second `npm start` on the same
 *   dir says "in use by PID n" instead of crashing inside the store with "Database is closed". A lock left by
 *   a process that no longer exists is taken over.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** The data dir cannot be used: its path, and why (the system's error code and message). */
export class DataDirError extends Error {
  override readonly name = 'DataDirError';
  constructor(
    readonly dir: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`LOCAL_DATA_DIR ${dir} cannot be used: ${reason}`, options);
  }
}

/** Another live process holds the store of this data dir. */
export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUseError';
  constructor(
    readonly dir: string,
    readonly pid: number | undefined,
  ) {
    super(
      `LOCAL_DATA_DIR ${dir} is in use${pid === undefined ? '' : ` by process ${pid}`} (another \`npm start\`, ` +
        '`npm run dev` or a command working on its store): stop it, or set LOCAL_DATA_DIR to another directory.',
    );
  }
}

const reasonOf = (err: unknown): string => {
  const e = err as NodeJS.ErrnoException;
  return e?.code ? `${e.code}: ${e.message}` : String(e?.message ?? err);
};

/** Creates `dir` if needed and checks that files can be created in it. Returns the absolute path. */
export function prepareDataDir(dir: string): string {
  const abs = resolve(dir);
  const missing: string[] = [];
  let at = abs;
  while (!existsSync(at)) {
    missing.unshift(at);
    const up = dirname(at);
    if (up === at) break;
    at = up;
  }
  try {
    if (existsSync(at) && !statSync(at).isDirectory()) throw new DataDirError(abs, `${at} is not a directory`);
    for (const d of missing) mkdirSync(d);
    const probe = `${abs}/.write-test-${process.pid}`;
    closeSync(openSync(probe, 'wx'));
    rmSync(probe, { force: true });
  } catch (err) {
    if (err instanceof DataDirError) throw err;
    throw new DataDirError(abs, reasonOf(err), { cause: err });
  }
  return abs;
}

/** Whether process `pid` exists (EPERM: it exists but belongs to someone else). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const readPid = (file: string): number | undefined => {
  try {
    const n = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Takes the lock of the store at `storePath` for this process: `<storePath>.pid` holds our PID. Throws
 * DataDirInUseError when a live process holds it; returns the release function (idempotent).
 */
export function lockDataDir(storePath: string, dataDir: string = dirname(storePath)): () => void {
  const file = `${storePath}.pid`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      let released = false;
      return () => {
        if (released) return;
        released = true;
        if (readPid(file) === process.pid) rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new DataDirError(dataDir, reasonOf(err), { cause: err });
      const holder = readPid(file);
      if (holder !== undefined && holder !== process.pid && alive(holder)) throw new DataDirInUseError(dataDir, holder);
      if (holder === process.pid) throw new DataDirInUseError(dataDir, holder);
      // Left behind by a process that is gone (killed, crashed): take it over.
      rmSync(file, { force: true });
    }
  }
  throw new DataDirInUseError(dataDir, readPid(file));
}
