/**
 * Section 7: time from `npm start` (what it runs: `tsx bin/local.ts`) to the first 200, on a free loopback port
 * with a temp LOCAL_DATA_DIR: first start (creates the key, the table and the demo users, whose passwords are
 * hashed with the OWASP scrypt cost) and a restart on the same data. The process (and the node process tsx runs
 * it in) is started in a process group of its own and stopped by that group id.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onCleanup, removeDirOnCleanup, stopChild } from '../lib/cleanup.js';
import { median } from '../lib/stats.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

async function firstOk(url: string, deadline: number, exited: () => boolean): Promise<boolean> {
  while (performance.now() < deadline && !exited()) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

async function startOnce(dataDir: string): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(join(ROOT, 'node_modules/.bin/tsx'), ['bin/local.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), LOCAL_DATA_DIR: dataDir, ACCESS_LOG: 'off' },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  const stop = onCleanup('npm start', () => stopChild(child, { group: true }));
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  let exited = false;
  child.once('exit', () => (exited = true));
  try {
    const ok = await firstOk(`http://127.0.0.1:${port}/.well-known/jwks.json`, started + 60_000, () => exited);
    const ms = performance.now() - started;
    if (!ok) throw new Error(`npm start did not answer 200: ${stderr.slice(-2000)}`);
    return ms;
  } finally {
    await stop();
  }
}

export interface StartResults {
  freshMs: number;
  restartMs: number;
  runs: number;
}

export async function benchStart(opts: { quick: boolean; log: (s: string) => void }): Promise<StartResults> {
  const runs = opts.quick ? 1 : 3;
  const fresh: number[] = [];
  const restart: number[] = [];
  for (let i = 0; i < runs; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'tokengate-start-'));
    removeDirOnCleanup(dir);
    fresh.push(await startOnce(dir));
    restart.push(await startOnce(dir));
    opts.log(`  npm start: fresh ${Math.round(fresh.at(-1)!)} ms, restart ${Math.round(restart.at(-1)!)} ms`);
  }
  return { freshMs: median(fresh), restartMs: median(restart), runs };
}
