/**
 * `npm run invoke -- <function> [event.json | -]`: runs one function's handler once, as `sam local invoke`
 * does, with the local environment. See USAGE below.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { createLambdaContext, INVOCATION_TIMEOUT, invokeWithTimeout } from '../lib/local/lambda-context.js';
import { loadApp, REPO_ROOT, resolveFunction, TOKENGATE_FUNCTIONS, type ResolvedFunction } from '../lib/local/functions.js';
import { describeError, localFunctionEnv, localSettings, openLocalStore } from '../lib/local/local-env.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const USAGE = `usage: npm run invoke -- <function> [event.json | -] [--app <file>] [--bundle] [--timeout <seconds>]

Runs the handler of <function> once with the local environment and the event (a file, - for stdin, none: {}),
as \`sam local invoke\` does: the result as JSON on stdout, the function's logs on stderr. When the handler throws,
stdout gets {"errorType","errorMessage"} (e.g. "Unauthorized" when the authorizer refuses a token) and the exit
code is 1.

<function>  tokengate's own: ${TOKENGATE_FUNCTIONS.join(', ')} (lambdas/<name>/handler.ts),
            or a service of the app declaration (its entry and exportName)
--app       the app declaration (default: TOKENGATE_APP, else examples/shop/app.ts)
--bundle    run the esbuild bundle the stack deploys (lib/bundling.ts settings) instead of the source
--timeout   seconds before the invocation is abandoned (default 30)

Environment as for \`npm start\`: LOCAL_DATA_DIR (a fresh one gets tables, key and demo users as \`npm start\`
sets them up), SIGNING_KEY_FILE, PORT (names the issuer, http://127.0.0.1:<PORT>), TOKEN_ISSUER, TOKEN_AUDIENCE,
and any setting the function reads. While \`npm start\` runs on the same data dir, the store is reached through it.

Examples:
  npm run -s event -- authorizer --user alice | npm run -s invoke -- authorizer -
  npm run -s invoke -- login test/events/login.json`;

type Handler = (event: unknown, context: Context, callback?: (err: unknown, result?: unknown) => void) => unknown;

/** Exit with `code` once everything written so far has reached the terminal or the pipe. */
function exitAfterFlush(code: number): void {
  process.stderr.write('', () => realStdoutWrite('', () => process.exit(code)));
}

// The function's logs (console, Powertools, metrics) go to stderr, as SAM prints them; stdout carries only the
// result. Swapped before anything is loaded, so every logger's stream writes there.
const realStdoutWrite = process.stdout.write.bind(process.stdout) as (chunk: string, cb?: () => void) => boolean;
process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;

async function readEvent(source: string | undefined): Promise<unknown> {
  if (source === undefined) return {};
  let text: string;
  if (source === '-') {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    text = Buffer.concat(chunks).toString('utf8');
  } else {
    text = readFileSync(source, 'utf8');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`the event ${source === '-' ? 'on stdin' : source} is not JSON: ${(err as Error).message}`);
  }
}

class UsageError extends Error {}

/** A path relative to the working directory when it is inside it, else absolute. */
const shown = (p: string): string => {
  const r = relative(process.cwd(), p);
  return r === '' ? '.' : r.startsWith('..') ? p : r;
};

/** The module to import: the source entry (tsx runs it), or the bundle the stack would deploy. */
async function moduleUrl(fn: ResolvedFunction, bundle: boolean, define: Record<string, string> = {}): Promise<string> {
  if (!bundle) return pathToFileURL(fn.entry).href;
  const { build } = await import('esbuild');
  const { LAMBDA_BUNDLE, LAMBDA_ESBUILD_OPTIONS } = await import('../lib/bundling.js');
  const dir = join(REPO_ROOT, 'node_modules', '.cache', 'tokengate-invoke');
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, `${fn.name}-${createHash('sha256').update(fn.entry).digest('hex').slice(0, 8)}.mjs`);
  await build({
    entryPoints: [fn.entry],
    ...LAMBDA_ESBUILD_OPTIONS,
    outfile,
    sourcemap: LAMBDA_BUNDLE.sourcemap,
    define,
  });
  return `${pathToFileURL(outfile).href}?t=${Date.now()}`;
}

function callHandler(handler: Handler, event: unknown, context: Context): Promise<unknown> {
  if (handler.length < 3) return Promise.resolve(handler(event, context));
  // A callback-style handler (event, context, callback), as the Node.js runtime still supports.
  return new Promise((resolve, reject) => {
    const maybe = handler(event, context, (err, result) => (err ? reject(err) : resolve(result)));
    if (maybe instanceof Promise) maybe.then(resolve, reject);
  });
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      app: { type: 'string' },
      bundle: { type: 'boolean' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    realStdoutWrite(`${USAGE}\n`);
    return 0;
  }
  const [name, eventSource, ...extra] = positionals;
  if (!name || extra.length > 0) {
    console.error(USAGE);
    return 2;
  }
  const timeoutSeconds = values.timeout === undefined ? 30 : Number(values.timeout);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) throw new UsageError('--timeout must be a positive number of seconds');

  const loaded = (TOKENGATE_FUNCTIONS as readonly string[]).includes(name) ? undefined : await loadApp(values.app);
  const fn = resolveFunction(name, loaded);
  const event = await readEvent(eventSource);

  const settings = localSettings();
  const store = await openLocalStore(process.env, settings);
  try {
    // The local environment wins over the shell's for what `npm start` sets; every other setting passes through.
    Object.assign(process.env, await localFunctionEnv(settings, store.endpoint));
    if (loaded) process.env.TOKENGATE_APP = loaded.file;
    // The authorizer's route table: compiled into the deployed bundle (esbuild define, as the construct does);
    // the source entry reads the same JSON from the environment. Both from the app declaration.
    let define: Record<string, string> = {};
    if (fn.name === 'authorizer') {
      const { allRoutes } = await import('../lib/routes.js');
      const { authorizerRoutes, authorizerRoutesDefine } = await import('../lib/bundling.js');
      const table = allRoutes((await loadApp(values.app)).app);
      process.env.TOKENGATE_ROUTES = JSON.stringify(authorizerRoutes(table));
      define = authorizerRoutesDefine(table);
    }
    console.error(`invoking ${fn.name} (${shown(fn.entry)}${values.bundle ? ', bundled' : ''}; store ${store.via === 'running' ? 'of the running npm start' : 'of LOCAL_DATA_DIR'}: ${shown(settings.dataDir)})`);

    const mod = (await import(await moduleUrl(fn, values.bundle === true, define))) as Record<string, unknown>;
    const handler = mod[fn.exportName];
    if (typeof handler !== 'function') throw new UsageError(`${relative(process.cwd(), fn.entry)} exports no function "${fn.exportName}"`);
    const context = createLambdaContext(fn.name, { region: 'local', accountId: '123456789012' }, timeoutSeconds * 1000);
    try {
      const result = await invokeWithTimeout(() => callHandler(handler as Handler, event, context), timeoutSeconds * 1000);
      realStdoutWrite(`${JSON.stringify(result ?? null)}\n`);
      return 0;
    } catch (err) {
      if (err === INVOCATION_TIMEOUT) {
        realStdoutWrite(`${JSON.stringify({ errorType: 'TimeoutError', errorMessage: `Task timed out after ${timeoutSeconds} seconds` })}\n`);
        return 1;
      }
      const e = err as Error;
      // The Lambda invoke response of a failed invocation, and the error in the logs as the runtime writes it.
      realStdoutWrite(`${JSON.stringify({ errorType: e?.name ?? 'Error', errorMessage: e?.message ?? String(err) })}\n`);
      console.error(`Invoke Error: ${e?.message === 'Unauthorized' ? 'Unauthorized' : (e?.stack ?? describeError(err))}`);
      return 1;
    }
  } finally {
    await store.close().catch(() => {});
  }
}

main().then(exitAfterFlush, (err: unknown) => {
  console.error(`error: ${err instanceof UsageError ? err.message : describeError(err)}`);
  exitAfterFlush(err instanceof UsageError ? 2 : 1);
});
