/**
 * What a newcomer hits when starting the local API (issue 11): a second `npm start` on the same data dir names the
 * PID that holds it, an unusable LOCAL_DATA_DIR fails at once with the reason, bad settings say what is wrong; and
 * the watch loop (`npm start -- --watch`) reloads the handlers while the store, the key and the port stay.
 */
import { afterAll, expect, test } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataDirError, DataDirInUseError, lockDataDir, prepareDataDir } from '../../lib/local/data-dir.js';
import { testContext } from '../helpers/test-context.js';

const t = testContext();
const root = fileURLToPath(new URL('../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'tokengate-start-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** `npm start` (bin/local.ts) as a child; resolves on exit, or once `readyPattern` shows on stdout. */
function start(env: Record<string, string>, args: string[] = []) {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'bin/local.ts', ...args], {
    cwd: root,
    env: { ...process.env, PASSWORD_SCRYPT_LN: '14', ...env },
  });
  let stdout = '';
  let stderr = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    for (const w of waiters.splice(0)) (w.re.test(stdout) ? w.resolve : () => waiters.push(w))();
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
  return {
    child,
    exited,
    out: () => stdout,
    err: () => stderr,
    /** Resolves when stdout matches `re` (rejects if the process exits first). */
    until: (re: RegExp) =>
      Promise.race([
        new Promise<void>((resolve) => (re.test(stdout) ? resolve() : waiters.push({ re, resolve }))),
        exited.then((code) => Promise.reject(new Error(`exited ${code} before ${re}:\n${stdout}\n${stderr}`))),
      ]),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

test('a second npm start on the same data dir says it is in use and by which PID (no "Database is closed")', async () => {
  const dataDir = join(work, 'busy');
  const first = start({ LOCAL_DATA_DIR: dataDir, PORT: String(await freePort()), ACCESS_LOG: 'off' });
  t.after(() => first.stop());
  await first.until(/tokengate local API on/);
  const second = start({ LOCAL_DATA_DIR: dataDir, PORT: String(await freePort()) });
  expect(await second.exited).toBe(1);
  expect(second.err()).toContain(`LOCAL_DATA_DIR ${dataDir} is in use by process ${first.child.pid}`);
  expect(second.err()).not.toMatch(/Database is closed|at .*node_modules/);
  // The first one is unharmed, and after it stops the dir is free again.
  expect(await first.stop()).toBe(0);
  const third = start({ LOCAL_DATA_DIR: dataDir, PORT: String(await freePort()), ACCESS_LOG: 'off' });
  t.after(() => third.stop());
  await third.until(/tokengate local API on/);
}, 120_000);

test('an unusable LOCAL_DATA_DIR fails at once with the reason; bad settings say what is wrong', async () => {
  const file = join(work, 'a-file');
  writeFileSync(file, 'x');
  const cases: [Record<string, string>, RegExp][] = [
    // Node's recursive mkdir spins forever here (procfs): this used to hang silently.
    [{ LOCAL_DATA_DIR: '/proc/tokengate-data' }, /LOCAL_DATA_DIR \/proc\/tokengate-data cannot be used: ENOENT/],
    [{ LOCAL_DATA_DIR: join(file, 'sub') }, /cannot be used: .*a-file is not a directory/],
    [{ LOCAL_DATA_DIR: join(work, 'ok1'), ACCESS_LOG: 'quiet' }, /ACCESS_LOG must be "on" or "off", got "quiet"/],
    [{ LOCAL_DATA_DIR: join(work, 'ok2'), TOKEN_ISSUER: 'tokengate' }, /TOKEN_ISSUER must be an absolute http\(s\) URL/],
    [{ LOCAL_DATA_DIR: join(work, 'ok3'), AUTHORIZER_CACHE_TTL_SECONDS: '-1' }, /AUTHORIZER_CACHE_TTL_SECONDS must be ≥ 0/],
  ];
  const runs = await Promise.all(
    cases.map(async ([env]) => {
      const started = Date.now();
      const r = start({ PORT: String(await freePort()), ...env });
      const timer = setTimeout(() => r.child.kill('SIGKILL'), 30_000);
      const code = await r.exited;
      clearTimeout(timer);
      return { code, err: r.err(), ms: Date.now() - started };
    }),
  );
  runs.forEach((r, i) => {
    expect(`${i}: ${r.code} ${r.err}`).toMatch(new RegExp(`^${i}: 1 (Failed to start: )?`));
    expect(r.err).toMatch(cases[i]![1]);
  });
}, 120_000);

test('data dir helpers: a stale lock (its process is gone) is taken over; a live one names its PID', () => {
  const dir = prepareDataDir(join(work, 'locks', 'deep', 'er'));
  const store = join(dir, 'dynamodb');
  writeFileSync(`${store}.pid`, '999999999\n'); // no such process
  const release = lockDataDir(store);
  expect(() => lockDataDir(store)).toThrow(DataDirInUseError);
  expect(() => lockDataDir(store)).toThrow(`is in use by process ${process.pid}`);
  release();
  lockDataDir(store)();
  expect(() => prepareDataDir('/proc/tokengate-x/y')).toThrow(DataDirError);
});

test('npm start -- --watch: a change reloads the handlers; the store, the signing key and the port stay', async () => {
  const dataDir = join(work, 'watch');
  const watched = mkdtempSync(join(work, 'src-'));
  const port = await freePort();
  const dev = start({ LOCAL_DATA_DIR: dataDir, PORT: String(port), TOKENGATE_WATCH_PATHS: watched, ACCESS_LOG: 'off' }, ['--watch']);
  t.after(() => dev.stop());
  await dev.until(/watching for changes/);
  const url = `http://127.0.0.1:${port}`;
  const login = await fetch(`${url}/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"username":"alice","password":"alice-password-1"}' });
  expect(login.status).toBe(200);
  const { access_token } = (await login.json()) as { access_token: string };
  const created = await fetch(`${url}/orders`, { method: 'POST', headers: { Authorization: `Bearer ${access_token}`, 'Content-Type': 'application/json' }, body: '{"item":"tea","quantity":1}' });
  expect(created.status).toBe(201);
  const jwksBefore = await (await fetch(`${url}/.well-known/jwks.json`)).text();

  writeFileSync(join(watched, 'handler.ts'), 'export const version = 2;\n');
  await dev.until(/handlers reloaded in \d+ ms \(pid \d+\); store, key and port \d+ kept/);
  expect(dev.out()).toMatch(/↻ .*handler\.ts changed: reloading handlers/);

  // Same port, same key (the old token verifies and its session is found), same store (the order is there).
  const list = await fetch(`${url}/orders`, { headers: { Authorization: `Bearer ${access_token}` } });
  expect(list.status).toBe(200);
  const body = (await list.json()) as { orders: { item: string }[] };
  expect(body.orders.map((o) => o.item)).toEqual(['tea']);
  expect(await (await fetch(`${url}/.well-known/jwks.json`)).text()).toBe(jwksBefore);
  expect(await dev.stop()).toBe(0);
}, 120_000);
