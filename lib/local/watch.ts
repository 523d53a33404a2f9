/**
 * The watch loop: `npm run dev` (or `npm start -- --watch`). Handlers reload when their source changes, while
 * the store, the signing key and the port stay as they are.
 *
 * This process owns what must survive a reload: the data dir (its lock), the embedded store, the key file and
 * the listening port. The gateway with every handler runs in a child process (`watch-child.ts`, the same
 * `startLocalStack` as `npm start`, pointed at this process's store) on a private port; this process forwards
 * each connection on the public port to the current child. A change starts a NEW child from the files on disk
 * (a fresh process: every module re-read, nothing cached), and only when it is up does the public port switch
 * to it and the old one stop: no request is refused during a reload, and a change that does not compile leaves
 * the previous handlers serving. Tokens issued before a reload stay valid: same key, same issuer, same store.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { watch, type FSWatcher, existsSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { intSetting, optionalString } from '../../lambdas/core/config.js';
import { ensureKeyFile } from '../../lambdas/adapters/local-signer.js';
import { prepareDataDir } from './data-dir.js';
import { startEmbeddedDynamo } from './dynamo-server.js';
import { endpointFile } from './stack.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHILD = fileURLToPath(new URL('./watch-child.ts', import.meta.url));
/** Source folders whose changes reload the handlers (TOKENGATE_WATCH_PATHS, `:`-separated, replaces them). */
const DEFAULT_WATCHED = ['lambdas', 'lib', 'service', 'examples'];
const IGNORED = /(^|[/\\])(node_modules|\.local|cdk\.out|\.git)([/\\]|$)|\.(swp|tmp)$|~$/;

/** What the child reports over IPC. */
export type ChildMessage = { type: 'ready'; port: number } | { type: 'failed'; message: string };

interface Generation {
  child: ChildProcess;
  port: number;
}

export interface WatchOptions {
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /** Milliseconds of quiet after a change before reloading. @default 150 */
  debounceMs?: number;
}

export interface WatchLoop {
  url: string;
  port: number;
  dynamoEndpoint: string;
  /** How many reloads have completed (the first start is not one). */
  reloads(): number;
  /** Reloads now, as a file change would. Resolves when the new handlers serve (or the reload failed). */
  reload(reason: string): Promise<void>;
  close(): Promise<void>;
}

export async function startWatchLoop(opts: WatchOptions = {}): Promise<WatchLoop> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const publicPort = intSetting(env, 'PORT', 3000, 0, 65535);
  const dataDir = prepareDataDir(optionalString(env, 'LOCAL_DATA_DIR') ?? '.local');
  const keyFile = optionalString(env, 'SIGNING_KEY_FILE') ?? ensureKeyFile(join(dataDir, 'signing-key.pem'));
  const store = await startEmbeddedDynamo({ path: join(dataDir, 'dynamodb') });

  let current: Generation | undefined;
  let waiting: ((g: Generation) => void)[] = [];
  const sockets = new Set<Socket>();
  const proxy: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    const forward = (g: Generation) => {
      const upstream = connect(g.port, '127.0.0.1');
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    };
    if (current) forward(current);
    else waiting.push(forward);
  });
  try {
    await new Promise<void>((res, rej) => {
      proxy.once('error', rej);
      proxy.listen(publicPort, '127.0.0.1', () => res());
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  const port = (proxy.address() as { port: number }).port;
  const url = `http://127.0.0.1:${port}`;
  const childEnv: NodeJS.ProcessEnv = {
    ...env,
    PORT: '0',
    LOCAL_DATA_DIR: dataDir,
    SIGNING_KEY_FILE: keyFile,
    // The public port names the issuer, whichever child signs: tokens survive reloads.
    TOKEN_ISSUER: optionalString(env, 'TOKEN_ISSUER') ?? url,
    TOKENGATE_STORE_ENDPOINT: store.endpoint,
  };

  const spawnChild = (): Promise<Generation> =>
    new Promise((res, rej) => {
      const child = fork(CHILD, [], { env: childEnv, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const onExit = (code: number | null) => rej(new Error(`the handlers did not start (exit ${code})`));
      child.once('exit', onExit);
      child.once('error', rej);
      child.on('message', (m: ChildMessage) => {
        if (m.type === 'ready') {
          child.off('exit', onExit);
          res({ child, port: m.port });
        } else if (m.type === 'failed') {
          child.off('exit', onExit);
          child.kill('SIGTERM');
          rej(new Error(m.message));
        }
      });
    });

  const stopChild = (g: Generation): Promise<void> =>
    new Promise((res) => {
      if (g.child.exitCode !== null || g.child.signalCode !== null) return res();
      const timer = setTimeout(() => g.child.kill('SIGKILL'), 5000);
      g.child.once('exit', () => {
        clearTimeout(timer);
        res();
      });
      g.child.kill('SIGTERM');
    });

  const publishEndpoint = () => writeFileSync(endpointFile(dataDir), `${store.endpoint}\n`);

  const activate = (g: Generation) => {
    current = g;
    for (const w of waiting.splice(0)) w(g);
    // A child that dies on its own (a crash) leaves the last good one... which it was: say so.
    g.child.once('exit', (code, signal) => {
      if (current === g && !closing) log(`handlers stopped unexpectedly (${signal ?? `exit ${code}`}); save a file to restart them`);
    });
    publishEndpoint();
  };

  let closing = false;
  let reloads = 0;
  let chain: Promise<void> = Promise.resolve();
  const reload = (reason: string): Promise<void> => {
    chain = chain.then(async () => {
      if (closing) return;
      const started = Date.now();
      log(`↻ ${reason}: reloading handlers`);
      try {
        const next = await spawnChild();
        const previous = current;
        activate(next);
        reloads++;
        if (previous) await stopChild(previous);
        publishEndpoint();
        log(`↻ handlers reloaded in ${Date.now() - started} ms (pid ${next.child.pid}); store, key and port ${port} kept`);
      } catch (err) {
        log(`✗ reload failed, the previous handlers keep serving: ${(err as Error).message}`);
      }
    });
    return chain;
  };

  let first: Generation;
  try {
    first = await spawnChild();
  } catch (err) {
    proxy.close();
    await store.close();
    throw err;
  }
  activate(first);

  const watchers: FSWatcher[] = [];
  const watched = (optionalString(env, 'TOKENGATE_WATCH_PATHS')?.split(':') ?? DEFAULT_WATCHED.map((d) => join(ROOT, d)))
    .map((p) => resolve(p))
    .filter((p) => existsSync(p));
  const app = optionalString(env, 'TOKENGATE_APP');
  if (app && existsSync(app)) watched.push(resolve(app, '..'));
  let timer: NodeJS.Timeout | undefined;
  let changed = new Set<string>();
  for (const dir of new Set(watched)) {
    watchers.push(
      watch(dir, { recursive: true }, (_event, file) => {
        if (file === null || IGNORED.test(file)) return;
        changed.add(relative(ROOT, join(dir, file)));
        clearTimeout(timer);
        timer = setTimeout(() => {
          const files = [...changed];
          changed = new Set();
          void reload(files.length === 1 ? `${files[0]} changed` : `${files.length} files changed`);
        }, opts.debounceMs ?? 150);
      }),
    );
  }

  return {
    url,
    port,
    dynamoEndpoint: store.endpoint,
    reloads: () => reloads,
    reload,
    close: async () => {
      closing = true;
      clearTimeout(timer);
      for (const w of watchers) w.close();
      await chain;
      if (current) await stopChild(current);
      waiting = [];
      for (const s of sockets) s.destroy();
      await new Promise<void>((res) => proxy.close(() => res()));
      rmSync(endpointFile(dataDir), { force: true });
      await store.close();
    },
  };
}

/** `npm run dev` / `npm start -- --watch`: runs until Ctrl-C, then exits the process. */
export async function runWatchLoop(): Promise<never> {
  let loop: WatchLoop;
  try {
    loop = await startWatchLoop();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e?.code === 'EADDRINUSE') console.error(`Port ${process.env.PORT ?? 3000} is in use: set PORT to another one.`);
    else if (e?.name === 'DataDirInUseError') console.error(e.message);
    else console.error('Failed to start:', e?.message ?? err);
    process.exit(1);
  }
  console.log(`tokengate local API on ${loop.url}, watching for changes (handlers reload; store, key and port stay). Ctrl-C stops it.`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await loop.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return new Promise<never>(() => {});
}
