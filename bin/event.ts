/**
 * `npm run event -- <authorizer|proxy|fixtures> [options]`: API Gateway events for `npm run invoke` and
 * `sam local invoke`, like `sam local generate-event apigateway authorizer|aws-proxy`, but with real tokens of
 * the local store. See USAGE below.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { compilePolicy, evaluatePolicy } from '../lib/local/policy-eval.js';
import {
  authorizationValue,
  authorizerEvent,
  fixtureEvents,
  gatewayAuthorizerContext,
  matchRoute,
  methodArn,
  proxyEvent,
  SAMPLE_API,
  serializeEvent,
  type ApiIdentity,
} from '../lib/local/events.js';
import { loadApp, REPO_ROOT } from '../lib/local/functions.js';
import { describeError, localSettings, openLocalStore } from '../lib/local/local-env.js';
import { authorizeLocally, mintSession } from '../lib/local/mint.js';
import { allRoutes } from '../lib/routes.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const USAGE = `usage: npm run event -- <kind> [options]      (the event is printed on stdout as JSON)

  authorizer [--user <name> | --token <token>] [--method GET --path /orders]
      A TOKEN authorizer event. --user: a new session of that user in the local store and its access token,
      signed with the local key (the authorizer accepts it). --token: any token (Bearer is added unless the value
      names a scheme). The methodArn names --method and --path (default: the first protected route).
  proxy --method <M> --path <path> [--body <text>] [--base64] [--content-type <type>] [--user <name> | --token <t>]
        [--header 'Name: value']... [--query 'a=1&b=2']
      An API Gateway (REST) proxy event for the route that serves the path. --base64: the body base64-encoded with
      isBase64Encoded: true. --user: an Authorization header with a fresh token, and requestContext.authorizer
      filled exactly as the authorizer fills it (the real authorizer runs); on a protected route without a
      caller the function sees no authorizer context (the gateway would answer 401 before it).
  fixtures [--out test/events]
      Rewrites the checked-in events (one per route, per authorizer case, and the edge shapes).

Common options: --app <file> (the app declaration; default TOKENGATE_APP, else examples/shop/app.ts),
  --region, --account, --api-id, --stage (the API in methodArn and requestContext; default ${SAMPLE_API.region},
  ${SAMPLE_API.accountId}, ${SAMPLE_API.apiId}, ${SAMPLE_API.stage}).
Environment as for \`npm start\` (LOCAL_DATA_DIR, SIGNING_KEY_FILE, PORT, TOKEN_ISSUER, TOKEN_AUDIENCE); while
\`npm start\` runs, sessions go to its store.

Examples:
  npm run -s event -- authorizer --user bob | npm run -s invoke -- authorizer -
  npm run -s event -- authorizer --token garbage --path /orders | npm run -s invoke -- authorizer -
  npm run -s event -- proxy --method POST --path /auth/login --base64 \\
    --body '{"username":"alice","password":"alice-password-1"}' | npm run -s invoke -- login -
  npm run -s event -- proxy --method GET --path /orders --user bob | npm run -s invoke -- orders -`;

class UsageError extends Error {}

function parseHeader(h: string): [string, string] {
  const colon = h.indexOf(':');
  if (colon <= 0) throw new UsageError(`--header "${h}": use 'Name: value'`);
  return [h.slice(0, colon).trim(), h.slice(colon + 1).trim()];
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      user: { type: 'string' },
      token: { type: 'string' },
      method: { type: 'string' },
      path: { type: 'string' },
      body: { type: 'string' },
      base64: { type: 'boolean' },
      'content-type': { type: 'string' },
      header: { type: 'string', multiple: true },
      query: { type: 'string' },
      app: { type: 'string' },
      region: { type: 'string' },
      account: { type: 'string' },
      'api-id': { type: 'string' },
      stage: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [kind, ...extra] = positionals;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!kind || extra.length > 0 || !['authorizer', 'proxy', 'fixtures'].includes(kind)) {
    console.error(kind ? `unknown event kind "${kind}"\n${USAGE}` : USAGE);
    return 2;
  }
  if (values.user !== undefined && values.token !== undefined) throw new UsageError('--user and --token exclude each other');

  const { app } = await loadApp(values.app);
  const routes = allRoutes(app);

  if (kind === 'fixtures') {
    const out = resolve(values.out ?? join(REPO_ROOT, 'test', 'events'));
    mkdirSync(out, { recursive: true });
    const events = fixtureEvents(app);
    for (const f of readdirSync(out)) if (f.endsWith('.json') && !(f.slice(0, -5) in events)) rmSync(join(out, f));
    for (const [name, event] of Object.entries(events)) writeFileSync(join(out, `${name}.json`), serializeEvent(event));
    console.error(`${Object.keys(events).length} events written to ${relative(process.cwd(), out) || '.'}`);
    return 0;
  }

  const api: ApiIdentity = {
    region: values.region ?? SAMPLE_API.region,
    accountId: values.account ?? SAMPLE_API.accountId,
    apiId: values['api-id'] ?? SAMPLE_API.apiId,
    stage: values.stage ?? SAMPLE_API.stage,
  };
  let method = (values.method ?? '').toUpperCase();
  let path = values.path ?? '';
  if (kind === 'authorizer' && (!method || !path)) {
    const first = routes.find((r) => r.permission !== null && (!method || r.method === method));
    if (!first) throw new UsageError('the app declares no protected route: give --method and --path');
    method ||= first.method;
    path ||= first.path.replace(/\{[^}]+\}/g, '42');
  }
  if (!method || !path) throw new UsageError('proxy events need --method and --path');
  if (!path.startsWith('/')) throw new UsageError(`--path must start with '/', got "${path}"`);
  const { route } = matchRoute(routes, method, path.split('?')[0]!);
  const arn = methodArn(api, method, path.split('?')[0]!);

  // A real session when a user is named: the store and key of the local data dir (through a running npm start).
  let authorization = values.token === undefined ? undefined : authorizationValue(values.token);
  let context: Record<string, string | number> | null = null;
  if (values.user !== undefined) {
    const settings = localSettings();
    const store = await openLocalStore(process.env, settings);
    try {
      const minted = await mintSession(store.table, settings, values.user);
      authorization = `Bearer ${minted.accessToken}`;
      if (kind === 'proxy' && route.permission !== null) {
        const answer = await authorizeLocally(store.table, settings, authorization, arn);
        const decision = evaluatePolicy(compilePolicy(answer.policyDocument), arn);
        if (decision !== 'allow') {
          console.error(`note: ${minted.claims.sub} may not call ${method} ${route.path} (needs ${route.permission}): the gateway would answer 403 before the function`);
        }
        context = gatewayAuthorizerContext(answer.principalId, answer.context as Record<string, string | number | boolean> | undefined);
      }
    } finally {
      await store.close();
    }
  }

  if (kind === 'authorizer') {
    if (authorization === undefined) throw new UsageError('authorizer events need --user <name> or --token <token>');
    process.stdout.write(`${JSON.stringify(authorizerEvent(authorization, arn), null, 2)}\n`);
    return 0;
  }

  const [pathOnly, queryFromPath] = path.split('?', 2) as [string, string | undefined];
  const headers = Object.fromEntries((values.header ?? []).map(parseHeader));
  const event = proxyEvent({
    method,
    path: pathOnly,
    routes,
    api,
    ...(values.query ?? queryFromPath ? { query: values.query ?? queryFromPath } : {}),
    ...(values.body !== undefined ? { body: values.body } : {}),
    ...(values['content-type'] ? { contentType: values['content-type'] } : {}),
    ...(values.base64 ? { base64: true } : {}),
    ...(authorization !== undefined ? { authorization } : {}),
    headers,
    authorizer: context,
  });
  if (route.permission !== null && context === null) {
    console.error(`note: ${method} ${route.path} is protected (${route.permission}); without --user the event has no authorizer context`);
  }
  process.stdout.write(`${JSON.stringify(event, null, 2)}\n`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`error: ${err instanceof UsageError ? err.message : describeError(err)}`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  },
);
