/**
 * `sam local invoke` against the synthesized template (issue 11), without Docker: the CDK app is synthesized once
 * (as `cdk synth` runs it: cdk.json's context, the local esbuild), `npm run sam-env` writes the env-vars file and
 * the local template for it, and every function the stack bundled runs what SAM's container would run: its
 * asset's `index.handler`, in a plain `node` process whose environment is exactly SAM's runtime variables plus
 * that file's entry, with a generated event. SAM's own rule is checked too: it passes a function only the
 * variables its template declares.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalKeySigner } from '../../lambdas/adapters/local-signer.js';
import { authorizerEvent, gatewayAuthorizerContext, methodArn, proxyEvent, SAMPLE_API } from '../../lib/local/events.js';
import { localSettings, openLocalStore, type LocalStore } from '../../lib/local/local-env.js';
import { authorizeLocally, mintSession } from '../../lib/local/mint.js';
import { LOCAL_ONLY, localTemplatePath, readTemplateFunctions, type CfnTemplate, type TemplateFunction } from '../../lib/local/sam-env.js';
import { startLocalStack, type LocalStack } from '../../lib/local/stack.js';
import type { Route } from '../../lib/routes.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'tokengate-sam-'));
const outdir = join(work, 'cdk.out');
const dataDir = join(work, 'data');
let stack: LocalStack;
let store: LocalStore;
let templateFile: string;
let template: CfnTemplate;
let functions: TemplateFunction[];
let samEnv: Record<string, Record<string, string>>;
let localTemplate: CfnTemplate;
let toolEnv: Record<string, string>;

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeout: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: root, env, timeout, maxBuffer: 32 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  // The CDK app as `cdk synth` runs it (cdk.json's "app" minus the type-check, which `npm test` does first).
  const context = (JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;
  // The CLI also asks for the asset and path metadata SAM reads (aws:asset:path, aws:cdk:path); `npm run synth`
  // passes tokengate:allowExampleIdentity (offline synth of the sample's example issuer).
  const cliContext = { ...context, 'aws:cdk:enable-asset-metadata': true, 'aws:cdk:enable-path-metadata': true, 'tokengate:allowExampleIdentity': true };
  const synth = await run(process.execPath, ['--import', 'tsx', 'bin/app.ts'], { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(cliContext) }, 600_000);
  if (synth.code !== 0) throw new Error(`synth failed:\n${synth.stderr}`);
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as { artifacts: Record<string, { type: string; properties?: { templateFile?: string } }> };
  const stackArtifact = Object.values(manifest.artifacts).find((a) => a.type === 'aws:cloudformation:stack' && a.properties?.templateFile);
  templateFile = join(outdir, stackArtifact!.properties!.templateFile!);
  template = JSON.parse(readFileSync(templateFile, 'utf8')) as CfnTemplate;
  functions = readTemplateFunctions(template, templateFile);

  // `npm start` on a data dir of its own: the store and the key the functions will use.
  stack = await startLocalStack({ port: 0, env: { LOCAL_DATA_DIR: dataDir, PASSWORD_SCRYPT_LN: '14', ACCESS_LOG: 'off' } });
  toolEnv = { LOCAL_DATA_DIR: dataDir, PORT: String(stack.port) };
  const out = join(work, 'sam-env.json');
  const written = await run(process.execPath, ['--import', 'tsx', 'bin/sam-env.ts', '--template', templateFile, '--out', out], { ...process.env, ...toolEnv }, 60_000);
  if (written.code !== 0) throw new Error(`sam-env failed:\n${written.stderr}`);
  expect(written.stdout).toMatch(/sam local invoke -t \S+\.local\.template\.json \S+ -e event\.json --env-vars \S+sam-env\.json --docker-network host/);
  samEnv = JSON.parse(readFileSync(out, 'utf8')) as typeof samEnv;
  localTemplate = JSON.parse(readFileSync(localTemplatePath(templateFile), 'utf8')) as CfnTemplate;
  store = await openLocalStore(toolEnv);
}, 600_000);

afterAll(async () => {
  await store?.close();
  await stack?.close();
  rmSync(work, { recursive: true, force: true });
});

const declared = (t: CfnTemplate, id: string): Record<string, unknown> =>
  ((t.Resources[id]?.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}) as Record<string, unknown>;

/** What SAM's container runs: `node` with SAM's runtime variables and the function's env-vars entry, nothing else. */
function invokeLikeSam(fn: TemplateFunction, event: unknown): Promise<{ ok: boolean; result?: any; errorType?: string; errorMessage?: string; logs: string }> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    TZ: ':UTC',
    AWS_SAM_LOCAL: 'true',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'defaultkey',
    AWS_SECRET_ACCESS_KEY: 'defaultsecret',
    AWS_LAMBDA_FUNCTION_NAME: fn.logicalId,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    AWS_LAMBDA_FUNCTION_TIMEOUT: '10',
    LAMBDA_TASK_ROOT: fn.assetDir!,
    ...samEnv[fn.logicalId],
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'test/helpers/lambda-runner.mjs'), fn.assetDir!, fn.handler], {
      cwd: fn.assetDir,
      env,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    });
    let logs = '';
    let result = '';
    child.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => (result += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      try {
        resolve({ ...(JSON.parse(result) as { ok: boolean }), logs });
      } catch {
        reject(new Error(`${fn.logicalId} gave no result; its output:\n${logs}`));
      }
    });
    child.stdin!.end(JSON.stringify(event));
  });
}

const routesOf = (fn: TemplateFunction): Route[] => fn.routes.map((r) => ({ method: r.method as Route['method'], path: r.path, permission: null, handler: 'x' }));

test("docs/DEPLOY.md's function count is the synthesized template's", () => {
  const deploy = readFileSync(join(root, 'docs/DEPLOY.md'), 'utf8');
  const words = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve'];
  const said = /^- (\w+) Lambda functions/m.exec(deploy)?.[1];
  expect(`${said} Lambda functions`).toBe(`${words[functions.length]} Lambda functions`);
});

test('the env file has an entry for every function, and only variables its (local) template declares', () => {
  expect(functions.length).toBeGreaterThanOrEqual(6);
  expect(Object.keys(samEnv).sort()).toEqual(functions.map((f) => f.logicalId).sort());
  for (const fn of functions) {
    const vars = declared(localTemplate, fn.logicalId);
    expect(`${fn.logicalId}: ${Object.keys(samEnv[fn.logicalId]!).filter((k) => !(k in vars)).join(',')}`).toBe(`${fn.logicalId}: `);
    // Every declared variable gets a value: nothing of the deployed configuration leaks in unresolved.
    expect(Object.keys(samEnv[fn.logicalId]!).sort()).toEqual(Object.keys(vars).sort());
  }
  // The local template is the synthesized one plus empty declarations of the local-only variables, nothing else.
  const stripped = structuredClone(localTemplate);
  for (const fn of functions) {
    const vars = declared(stripped, fn.logicalId);
    for (const name of [...LOCAL_ONLY.endpoint, LOCAL_ONLY.key]) {
      if (name in vars && !(name in fn.variables)) {
        expect(vars[name]).toBe('');
        delete vars[name];
      }
    }
  }
  expect(stripped).toEqual(template);
  expect(JSON.stringify(template)).not.toMatch(/SIGNING_KEY_PEM|DYNAMODB_ENDPOINT/);
});

test('every function the stack bundled answers its event with exactly the env file (authorizer, auth routes, services, deploy-time)', async () => {
  const settings = localSettings(toolEnv);
  const kid = LocalKeySigner.fromFile(settings.keyFile).kid;
  const login = async () => {
    const res = await fetch(`${stack.url}/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: 'alice', password: 'alice-password-1' }) });
    return (await res.json()) as { access_token: string; refresh_token: string };
  };
  const answered: string[] = [];
  for (const fn of functions) {
    if (!fn.bundled || !fn.assetDir) {
      // A library's own handler (the CDK custom-resource framework): it only calls other functions through the
      // Lambda API. Its entry is in the env file (checked above); there is nothing local for it to do.
      continue;
    }
    const routes = routesOf(fn);
    if (fn.authorizer) {
      const minted = await mintSession(store.table, settings, 'alice', toolEnv);
      const arn = methodArn(SAMPLE_API, 'GET', '/orders');
      const allow = await invokeLikeSam(fn, authorizerEvent(`Bearer ${minted.accessToken}`, arn));
      expect([fn.logicalId, allow.ok, allow.result?.principalId, allow.result?.policyDocument?.Statement?.[0]?.Effect]).toEqual([fn.logicalId, true, 'alice', 'Allow']);
      const refused = await invokeLikeSam(fn, authorizerEvent('Bearer not.a.token', arn));
      expect([refused.ok, refused.errorMessage]).toEqual([false, 'Unauthorized']);
    } else if (routes.some((r) => r.path === '/auth/login')) {
      const res = await invokeLikeSam(fn, proxyEvent({ method: 'POST', path: '/auth/login', routes, body: JSON.stringify({ username: 'bob', password: 'bob-password-1' }) }));
      expect([fn.logicalId, res.result?.statusCode]).toEqual([fn.logicalId, 200]);
      const token = (JSON.parse(res.result.body) as { access_token: string }).access_token;
      // Signed with the local key for the local issuer: the running gateway accepts it.
      expect((await fetch(`${stack.url}/orders`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    } else if (routes.some((r) => r.path === '/auth/refresh')) {
      const { refresh_token } = await login();
      const res = await invokeLikeSam(fn, proxyEvent({ method: 'POST', path: '/auth/refresh', routes, body: JSON.stringify({ refresh_token }) }));
      expect([fn.logicalId, res.result?.statusCode]).toEqual([fn.logicalId, 200]);
    } else if (routes.some((r) => r.path === '/auth/logout')) {
      const t = await login();
      const res = await invokeLikeSam(fn, proxyEvent({ method: 'POST', path: '/auth/logout', routes, authorization: `Bearer ${t.access_token}`, body: JSON.stringify({ refresh_token: t.refresh_token }) }));
      expect([fn.logicalId, res.result?.statusCode]).toEqual([fn.logicalId, 204]);
    } else if (routes.some((r) => r.path === '/.well-known/jwks.json')) {
      const res = await invokeLikeSam(fn, proxyEvent({ method: 'GET', path: '/.well-known/jwks.json', routes }));
      expect([fn.logicalId, res.result?.statusCode]).toEqual([fn.logicalId, 200]);
      expect((JSON.parse(res.result.body) as { keys: { kid: string }[] }).keys.map((k) => k.kid)).toEqual([kid]);
    } else if (routes.length > 0) {
      // A service behind the authorizer: its first route, called by alice as the gateway would call it.
      const route = routes[0]!;
      const path = route.path.replace(/\{[^}]+\}/g, 'tea');
      const minted = await mintSession(store.table, settings, 'alice', toolEnv);
      const arn = methodArn(SAMPLE_API, route.method, path);
      const answer = await authorizeLocally(store.table, settings, `Bearer ${minted.accessToken}`, arn, toolEnv);
      const res = await invokeLikeSam(
        fn,
        proxyEvent({ method: route.method, path, routes, authorization: `Bearer ${minted.accessToken}`, authorizer: gatewayAuthorizerContext(answer.principalId, answer.context as Record<string, string>) }),
      );
      expect([fn.logicalId, res.ok, res.errorMessage]).toEqual([fn.logicalId, true, undefined]);
      expect(`${fn.logicalId} ${route.method} ${path} → ${res.result?.statusCode}`).toMatch(route.method === 'GET' && !route.path.includes('{') ? / → 200$/ : / → [1-4]\d\d$/);
    } else {
      // Deploy-time (the JWKS publisher, a CloudFormation custom resource): a Delete needs no AWS call.
      const res = await invokeLikeSam(fn, { RequestType: 'Delete', PhysicalResourceId: 'tokengate-jwks', ResourceProperties: {}, StackId: 'x', RequestId: 'r', LogicalResourceId: 'l', ResponseURL: 'https://example.invalid', ResourceType: 'Custom::Jwks', ServiceToken: 'x' });
      expect([fn.logicalId, res.ok, res.result?.PhysicalResourceId]).toEqual([fn.logicalId, true, 'tokengate-jwks']);
    }
    answered.push(fn.logicalId);
  }
  // The authorizer, the four auth functions and at least one service answered.
  expect(answered.length).toBeGreaterThanOrEqual(6);
  expect(functions.filter((f) => f.authorizer).map((f) => f.logicalId).every((id) => answered.includes(id))).toBe(true);
}, 300_000);
