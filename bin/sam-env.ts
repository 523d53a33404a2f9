/**
 * `npm run sam-env`: the `--env-vars` file and the template for `sam local invoke` against the stack in cdk.out
 * (lib/local/sam-env.ts explains both). See USAGE below.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadApp, REPO_ROOT } from '../lib/local/functions.js';
import { localTableName } from '../lib/local/app-services.js';
import { describeError, localJwks, localSettings, probeStore } from '../lib/local/local-env.js';
import { buildSamEnv, localTemplatePath, readTemplateFunctions, type CfnTemplate } from '../lib/local/sam-env.js';
import { LOCAL_TABLE, runningEndpoint } from '../lib/local/stack.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const USAGE = `usage: npm run sam-env -- [--template cdk.out/<Stack>.template.json] [--out <file>] [--endpoint <url>]
                       [--docker-host <host>] [--table <LogicalId>=<local name>]...

Writes, for the stack synthesized into cdk.out (\`npm run synth\`):
  <Stack>.local.template.json  next to the template: the same template, with the local-only variables
                               DYNAMODB_ENDPOINT, AWS_ENDPOINT_URL_DYNAMODB and SIGNING_KEY_PEM declared (SAM passes
                               a function only the variables its template declares)
  --out (default <LOCAL_DATA_DIR>/sam-env.json)  the --env-vars file: per function its table name, the local store's
                               endpoint, the local key set (JWKS_JSON), SIGNER=local with the local key, the issuer
                               and audience \`npm start\` uses, the local gateway's URL for API URLs
and prints the \`sam local invoke\` line of every function.

The functions reach the store of the running \`npm start\` (its endpoint changes with every start: run this again
after restarting it), or --endpoint. --docker-host: the host name containers reach this machine by (e.g.
host.docker.internal); by default 127.0.0.1, for \`sam local invoke --docker-network host\` on Linux.`;

class UsageError extends Error {}

function findTemplate(): string {
  const dir = join(REPO_ROOT, 'cdk.out');
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => f.endsWith('.template.json') && !f.endsWith('.local.template.json'));
  } catch {
    names = [];
  }
  if (names.length === 1) return join(dir, names[0]!);
  if (names.length === 0) throw new UsageError('no template in cdk.out: run `npm run synth` first (or give --template)');
  throw new UsageError(`several templates in cdk.out (${names.join(', ')}): give --template`);
}

const shown = (p: string): string => {
  const r = relative(process.cwd(), p);
  return r.startsWith('..') ? p : r;
};

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      template: { type: 'string' },
      out: { type: 'string' },
      endpoint: { type: 'string' },
      'docker-host': { type: 'string' },
      table: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const templateFile = resolve(values.template ?? findTemplate());
  let template: CfnTemplate;
  try {
    template = JSON.parse(readFileSync(templateFile, 'utf8')) as CfnTemplate;
  } catch (err) {
    throw new UsageError(`cannot read the template ${templateFile}: ${(err as Error).message}`);
  }
  const settings = localSettings();
  const endpoint = values.endpoint ?? runningEndpoint(settings.dataDir);
  if (endpoint === undefined) {
    throw new UsageError(`no \`npm start\` is running on ${settings.dataDir}: start it (the functions use its store), or give --endpoint`);
  }
  const probe = await probeStore(endpoint);
  if (!probe.ok) throw new UsageError(`the store at ${endpoint} does not answer (${probe.reason}): is \`npm start\` still running?`);

  const tables: Record<string, string> = {};
  for (const t of values.table ?? []) {
    const [id, name] = t.split('=', 2);
    if (!id || !name) throw new UsageError(`--table ${t}: use <LogicalId>=<local table name>`);
    tables[id] = name;
  }
  // The app's own tables (npm start names them `<service>.<ENV_NAME>`), by the variable that carries each name.
  const { app } = await loadApp(undefined);
  const serviceTables: Record<string, string> = {};
  for (const [service, decl] of Object.entries(app.services)) {
    for (const envName of Object.keys(decl.tables ?? {})) serviceTables[envName] = localTableName(service, envName);
  }
  const dockerHost = values['docker-host'];
  const reach = (url: string) => (dockerHost ? url.replace('127.0.0.1', dockerHost) : url);
  const result = buildSamEnv(template, templateFile, {
    sessionTable: LOCAL_TABLE,
    tables,
    serviceTables,
    endpoint: reach(endpoint),
    jwksJson: JSON.stringify(await localJwks(settings.keyFile)),
    issuer: settings.issuer,
    audience: settings.audience,
    signingKeyPem: readFileSync(settings.keyFile, 'utf8'),
    apiUrl: reach(settings.apiUrl),
  });
  const localTemplate = localTemplatePath(templateFile);
  const out = resolve(values.out ?? join(settings.dataDir, 'sam-env.json'));
  writeFileSync(localTemplate, `${JSON.stringify(result.template, null, 1)}\n`);
  // The local private key is in it: readable by this user only, like the key file itself.
  writeFileSync(out, `${JSON.stringify(result.env, null, 2)}\n`, { mode: 0o600 });
  for (const w of result.warnings) console.error(`warning: ${w}`);

  const network = dockerHost ? '' : ' --docker-network host';
  console.log(`wrote ${shown(localTemplate)} and ${shown(out)} (store ${endpoint}, issuer ${settings.issuer})\n`);
  for (const fn of readTemplateFunctions(template, templateFile)) {
    const first = fn.routes[0];
    const extra = !first
      ? ''
      : first.path === '/auth/login'
        ? ` --body '{"username":"alice","password":"alice-password-1"}'`
        : first.path.startsWith('/auth/') || first.path.startsWith('/.well-known/')
          ? ''
          : ' --user alice';
    const what = fn.authorizer
      ? 'the TOKEN authorizer; event: npm run -s event -- authorizer --user alice > event.json'
      : first
        ? `${fn.routes.map((r) => `${r.method} ${r.path}`).join(', ')}; event: npm run -s event -- proxy --method ${first.method} --path ${first.path.replace(/\{[^}]+\}/g, '42')}${extra} > event.json`
        : 'not behind the API (deploy-time)';
    console.log(`# ${fn.logicalId}: ${what}`);
    console.log(`sam local invoke -t ${shown(localTemplate)} ${fn.logicalId} -e event.json --env-vars ${shown(out)}${network}\n`);
  }
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
