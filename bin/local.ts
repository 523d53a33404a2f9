/**
 * `npm start`: the whole product locally — embedded DynamoDB-compatible store, local signing key, the
 * Lambda handlers behind a faithful REST API Gateway emulator with the TOKEN authorizer and its cache — and the
 * team's app: the services of the app declaration TOKENGATE_APP (default examples/shop/app.ts), the same file
 * the CDK app reads, with their own tables.
 * Environment: see the README (PORT, LOCAL_DATA_DIR, TOKENGATE_APP, SIGNING_KEY_FILE, ACCESS_TOKEN_TTL_SECONDS,
 * REFRESH_TOKEN_TTL_SECONDS, AUTHORIZER_CACHE_TTL_SECONDS, …).
 */
import { relative } from 'node:path';
import { DEMO_USERS, startLocalStack } from '../lib/local/stack.js';
import { accessLogSetting } from '../lambdas/core/config.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// `npm start -- --watch` (= `npm run dev`): handlers reload on change; the store, the key and the port stay.
if (process.argv.includes('--watch')) await (await import('../lib/local/watch.js')).runWatchLoop();

const started = Date.now();
let quiet = false;
try { quiet = !accessLogSetting(process.env); } catch (e) { console.error('Failed to start:', (e as Error).message); process.exit(1); }
// Errors by class and message (plus their cause's), never the request: it may carry tokens or passwords.
const describe = (err: unknown): string => {
  const e = err as Error | undefined;
  const cause = e?.cause as Error | undefined;
  return `${e?.name}: ${e?.message}${cause ? ` (cause: ${cause.name}: ${cause.message})` : ''}`;
};
const stack = await startLocalStack({
  log: quiet ? undefined : (line) => process.stdout.write(line + '\n'),
  onFunctionError: (err, fn) => console.error(`[${fn}] ${describe(err)}`),
}).catch((err: unknown) => {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'EADDRINUSE') console.error(`Port ${process.env.PORT ?? 3000} is in use: set PORT to another one.`);
  else if (e?.name === 'DataDirInUseError') console.error(e.message);
  else if (/LOCK|lock/.test(String(e?.message))) console.error('Another `npm start` uses this LOCAL_DATA_DIR: stop it or set LOCAL_DATA_DIR.');
  else console.error('Failed to start:', e?.message ?? err, e?.cause ? `(${(e.cause as Error)?.message ?? String(e.cause)})` : '');
  process.exit(1);
});

const u = stack.url;
const users = DEMO_USERS.map((d) => `    ${d.username} / ${d.password}`.padEnd(36) + d.permissions.join(' ')).join('\n');
const width = Math.max(...stack.app.routes.map((r) => `${r.method} ${r.path}`.length));
const routes = stack.app.routes
  .map((r) => `    ${`${r.method} ${r.path}`.padEnd(width)}  ${(r.permission ?? 'public').padEnd(18)} → ${r.handler}`)
  .join('\n');
const app = stack.app.file ? relative(process.cwd(), stack.app.file) : '(none: tokengate\'s own routes only)';
console.log(`tokengate local API on ${u}  (ready in ${Date.now() - started} ms; data in ${stack.dataDir})
  authorizer cache: ${stack.env.AUTHORIZER_CACHE_TTL_SECONDS ?? '300'} s · issuer ${stack.env.TOKEN_ISSUER} · audience ${stack.env.TOKEN_AUDIENCE}
  app: ${app} · services: ${stack.app.services.join(', ') || '-'} (API_URL=${stack.app.env.API_URL ?? u})
  demo users (a fresh data dir):
${users}
  routes:
${routes}

Try:
  TOKEN=$(curl -s ${u}/auth/login -H 'Content-Type: application/json' \\
    -d '{"username":"alice","password":"alice-password-1"}' | node -pe 'JSON.parse(fs.readFileSync(0)).access_token')
  curl -s ${u}/orders -H "Authorization: Bearer $TOKEN"
Ctrl-C stops it.`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await stack.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
