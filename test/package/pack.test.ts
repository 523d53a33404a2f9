/**
 * The package as a team gets it. `npm pack` (which builds dist/ through `prepack`) into a temporary directory laid
 * out as the README says (`tokengate/tokengate-0.1.0.tgz` beside the new project), then every block of the
 * README's "Protect your own service" walk-through between the `pack-test:begin` and `pack-test:end` markers,
 * verbatim: the shell blocks run in bash, the blocks titled with a file name (```ts app.ts) are written to that
 * file. `npx tokengate start` runs in the background on a free port (PORT=0; the walk-through's
 * `http://127.0.0.1:3000` is replaced by the URL it prints), the curl block's answers are checked, and
 * `npx cdk synth` must give a template with the team's route behind the authorizer and every function bundled.
 * Then the entry points are imported from plain Node ESM and type-checked from TypeScript.
 *
 * Offline as far as possible: npm installs with `prefer-offline` (the npm cache the repo's own install filled;
 * only package metadata may come from the registry) and without audit or fund requests; synth needs no account.
 * KEEP_PACK_TEST_DIR=1 keeps the temporary directory for a look.
 */
import { describe, test, expect, beforeAll, afterAll } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const TSC = join(REPO, 'node_modules', 'typescript', 'lib', 'tsc.js');
const MINUTE = 60_000;

interface Block {
  readonly lang: string;
  /** The file a block is written to (```ts app.ts), or undefined for a shell block. */
  readonly file: string | undefined;
  readonly body: string;
}

/** The walk-through's blocks, in order, from the README. */
function walkThrough(): Block[] {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const begin = readme.indexOf('<!-- pack-test:begin');
  const end = readme.indexOf('<!-- pack-test:end -->');
  if (begin < 0 || end < begin) throw new Error('README.md has no pack-test:begin … pack-test:end section');
  const section = readme.slice(begin, end);
  return [...section.matchAll(/^```(\w+)(?: +(\S+))?\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1]!, file: m[2], body: m[3]! }));
}

/**
 * The environment of every command: this process's, without what `npm test` set for the repo (npm_* variables
 * name the repo as the npm project; NODE_ENV=test is jest's), plus the offline-friendly npm and CDK settings.
 */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) || k === 'INIT_CWD' || k === 'NODE_ENV' || k === 'JEST_WORKER_ID') continue;
    env[k] = v;
  }
  return {
    ...env,
    npm_config_prefer_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    CDK_DISABLE_VERSION_CHECK: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    // Cheaper password hashing for the demo and walk-through users (the hash records its cost; login reads it).
    PASSWORD_SCRYPT_LN: '14',
    ...extra,
  };
}

interface Ran {
  readonly stdout: string;
  readonly stderr: string;
}

/** Every process group started here, so that afterAll can end whatever a failed or timed-out test left running. */
const groups = new Set<ChildProcess>();

/** Ends a process group this file started (bash, npx, node, …) and waits for its leader to exit. */
async function stopGroup(child: ChildProcess): Promise<void> {
  groups.delete(child);
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }, 10_000);
  await exited;
  clearTimeout(timer);
}

/** Runs a command in a process group of its own; rejects with its output when it fails. */
function run(file: string, args: readonly string[], cwd: string, env = cleanEnv()): Promise<Ran> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    groups.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      groups.delete(child);
      if (code === 0) resolvePromise({ stdout, stderr });
      else reject(new Error(`${file} ${args.join(' ')} failed (${signal ?? code}) in ${cwd}:\n${stdout}\n${stderr}`));
    });
  });
}

const bash = (script: string, cwd: string, env?: NodeJS.ProcessEnv): Promise<Ran> => run('bash', ['-euo', 'pipefail', '-c', script], cwd, env);

/** Starts the walk-through's `npx tokengate start` in its own process group; resolves with the URL it prints. */
function startServer(script: string, cwd: string): { child: ChildProcess; url: Promise<string>; output: () => string } {
  const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd, env: cleanEnv({ PORT: '0', ACCESS_LOG: 'off' }), detached: true });
  groups.add(child);
  let output = '';
  const url = new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`tokengate start did not come up in 90 s:\n${output}`)), 90_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const m = /tokengate local API on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tokengate start exited (${code}):\n${output}`));
    });
  });
  url.catch(() => undefined);
  return { child, url, output: () => output };
}

type Resource = { Type: string; Properties?: Record<string, unknown> };

describe('the packed tarball in a fresh project', () => {
  const blocks = walkThrough();
  let work: string;
  let cwd: string;
  let server: ReturnType<typeof startServer> | undefined;
  let project: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'tokengate-pack-'));
    cwd = work;
    mkdirSync(join(work, 'tokengate'));
    // As "cd tokengate && npm pack" in a clone; prepack builds dist/.
    const { stdout } = await run('npm', ['pack', '--pack-destination', join(work, 'tokengate')], REPO);
    expect(stdout.trim().split('\n').pop()).toBe('tokengate-0.1.0.tgz');
  }, 5 * MINUTE);

  afterAll(async () => {
    for (const child of [...groups]) await stopGroup(child);
    if (work && !process.env.KEEP_PACK_TEST_DIR) rmSync(work, { recursive: true, force: true });
  });

  /** The local server's URL once it runs: the walk-through's `http://127.0.0.1:3000` becomes it. */
  let baseUrl: string | undefined;

  /** Runs the walk-through's blocks from `from` on, up to (not including) the first block `stop` accepts. */
  async function runBlocks(from: number, stop: (b: Block) => boolean): Promise<{ next: number; shell: Ran[] }> {
    const shell: Ran[] = [];
    let i = from;
    for (; i < blocks.length && !stop(blocks[i]!); i++) {
      const b = blocks[i]!;
      if (b.file !== undefined) {
        writeFileSync(join(cwd, b.file), b.body);
        continue;
      }
      expect(b.lang).toBe('sh');
      const script = baseUrl ? b.body.replaceAll('http://127.0.0.1:3000', baseUrl) : b.body;
      shell.push(await bash(script, cwd));
      // A `cd` in a block moves the next blocks too, as in the reader's terminal.
      for (const m of b.body.matchAll(/(?:^|&&\s*)cd (\S+)/gm)) cwd = resolve(cwd, m[1]!);
    }
    return { next: i, shell };
  }

  let next = 0;
  /** How far the walk-through got: each test needs the one before it (they share the project). */
  let stage = 0;
  const isStart = (b: Block): boolean => b.file === undefined && /^npx tokengate start\b/.test(b.body.trim());
  const isSynth = (b: Block): boolean => b.file === undefined && /\bcdk synth\b/.test(b.body);
  const isCdkFile = (b: Block): boolean => b.file !== undefined && /^cdk/.test(b.file);

  test('README: install the tarball, declare a route, write a handler, npx tokengate start, curl it', async () => {
    expect(stage).toBe(0);
    expect(blocks.filter(isStart)).toHaveLength(1);
    expect(blocks.filter(isSynth)).toHaveLength(1);
    ({ next } = await runBlocks(0, isStart));
    project = cwd;
    expect(project).toBe(join(work, 'my-api'));
    // What ships: dist/ (no tests, no sample app), the README and docs.
    const pkg = join(project, 'node_modules', 'tokengate');
    expect(readdirSync(pkg).sort()).toEqual(['README.md', 'dist', 'docs', 'package.json']);
    expect(readdirSync(join(pkg, 'dist')).sort()).toEqual(['bin', 'client', 'lambdas', 'lib', 'service']);

    server = startServer(blocks[next]!.body, project);
    baseUrl = await server.url;
    next++;
    const curlBlock = blocks.slice(next).find((b) => b.file === undefined && b.body.includes('$API/hello'));
    expect(curlBlock?.body).toContain('API=http://127.0.0.1:3000\n');
    const ran = await runBlocks(next, (b) => isSynth(b) || isCdkFile(b));
    next = ran.next;
    const out = ran.shell.map((r) => r.stdout).join('');
    expect(out).toContain('added dana with permissions: hello:read');
    const lines = out.split('\n');
    expect(lines).toContain('{"message":"hello, dana","permissions":["hello:read"]}');
    expect(lines).toContain('401');
    expect(lines).toContain('403');
    const paths = lines.find((l) => l.startsWith('/auth/login'));
    expect(paths?.split(' ')).toEqual(expect.arrayContaining(['/auth/login', '/auth/refresh', '/auth/logout', '/.well-known/jwks.json', '/openapi.json', '/hello']));
    await stopGroup(server.child);
    stage = 1;
  }, 6 * MINUTE);

  test('README: the CDK app synthesizes offline, the route behind the authorizer, every function bundled', async () => {
    expect(stage).toBe(1);
    ({ next } = await runBlocks(next, () => false));
    expect(next).toBe(blocks.length);
    const out = join(project, 'cdk.out');
    const template = JSON.parse(readFileSync(join(out, 'MyApi.template.json'), 'utf8')) as { Resources: Record<string, Resource> };
    const resources = Object.entries(template.Resources);
    const ofType = (type: string) => resources.filter(([, r]) => r.Type === type);

    const hello = ofType('AWS::ApiGateway::Resource').filter(([, r]) => r.Properties?.PathPart === 'hello');
    expect(hello).toHaveLength(1);
    const helloId = hello[0]![0];
    const methods = ofType('AWS::ApiGateway::Method').filter(([, r]) => JSON.stringify(r.Properties?.ResourceId) === JSON.stringify({ Ref: helloId }));
    expect(methods.map(([, r]) => r.Properties?.HttpMethod)).toEqual(['GET']);
    const method = methods[0]![1].Properties!;
    expect(method.AuthorizationType).toBe('CUSTOM');
    const authorizers = ofType('AWS::ApiGateway::Authorizer');
    expect(authorizers).toHaveLength(1);
    expect(authorizers[0]![1].Properties?.Type).toBe('TOKEN');
    expect(method.AuthorizerId).toEqual({ Ref: authorizers[0]![0] });
    // The integration invokes the team's own function.
    const helloFn = ofType('AWS::Lambda::Function').filter(([id]) => id.startsWith('Hello'));
    expect(helloFn).toHaveLength(1);
    expect(JSON.stringify(method.Integration)).toContain(helloFn[0]![0]);

    // Every function's code is an asset bundled at synth, none inline: the team's from hello.ts, tokengate's own
    // (esbuild ESM) from the installed package's dist/lambdas; the authorizer has the team's route table compiled in.
    const bundles = Object.fromEntries(
      ofType('AWS::Lambda::Function').map(([id, fn]) => {
        const code = fn.Properties?.Code as { ZipFile?: unknown } | undefined;
        expect({ id, inline: code?.ZipFile !== undefined }).toEqual({ id, inline: false });
        const asset = (fn as { Metadata?: Record<string, string> }).Metadata?.['aws:asset:path'];
        return [id, asset === undefined ? [] : readdirSync(join(out, asset)).map((f) => join(out, asset, f))];
      }),
    );
    const bundleOf = (prefix: string): string[] => Object.entries(bundles).find(([id]) => id.startsWith(prefix))?.[1] ?? [];
    expect(bundleOf('Hello').map((f) => f.slice(f.lastIndexOf('/') + 1))).toEqual(['index.js']);
    for (const fn of ['TokengateAuthorizer', 'TokengateLogin', 'TokengateRefresh', 'TokengateLogout', 'TokengateJwks', 'TokengateSigningPublisher']) {
      expect({ fn, files: bundleOf(fn).map((f) => f.slice(f.lastIndexOf('/') + 1)) }).toEqual({ fn, files: ['index.mjs', 'index.mjs.map'] });
    }
    const authorizer = readFileSync(bundleOf('TokengateAuthorizer').find((f) => f.endsWith('index.mjs'))!, 'utf8');
    expect(authorizer).toContain('hello:read');
    stage = 2;
  }, 5 * MINUTE);

  // These two need only the installed project (the first test's install step).
  test('plain Node ESM imports every entry point; internals stay private', async () => {
    expect(project).toBeDefined();
    writeFileSync(
      join(project, 'check.mjs'),
      `const client = await import('tokengate/client');
const service = await import('tokengate/service');
const routes = await import('tokengate/routes');
const openapi = await import('tokengate/openapi');
const root = await import('tokengate');
const app = routes.defineApp({ services: { hello: { entry: './hello.ts' } }, routes: [{ method: 'GET', path: '/hello', permission: 'hello:read', handler: 'hello' }] });
const caller = service.callerFrom({ requestContext: { authorizer: { sub: 'dana', scope: 'hello:read', sid: 's', jti: 'j', exp: String(Math.floor(Date.now() / 1000) + 60) } } });
let internal;
try { await import('tokengate/dist/lambdas/core/users.js'); internal = 'importable'; } catch (e) { internal = e.code; }
console.log(JSON.stringify({
  client: typeof client.TokengateClient,
  construct: typeof root.Tokengate,
  defineApp: root.defineApp === routes.defineApp,
  caller: caller?.sub,
  can: caller?.can('hello:read'),
  verifier: typeof service.createTokenVerifier,
  forwarding: typeof service.forwardingFetch,
  security: openapi.buildOpenApi(app).paths['/hello'].get.security,
  internal,
}));
`,
    );
    const { stdout } = await run(process.execPath, ['check.mjs'], project);
    expect(JSON.parse(stdout)).toEqual({
      client: 'function',
      construct: 'function',
      defineApp: true,
      caller: 'dana',
      can: true,
      verifier: 'function',
      forwarding: 'function',
      security: [{ tokengate: ['hello:read'] }],
      internal: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
    });
  }, MINUTE);

  test('TypeScript type-checks the walk-through files and every entry point against the shipped declarations', async () => {
    expect(project).toBeDefined();
    writeFileSync(
      join(project, 'consumer.ts'),
      `import type { APIGatewayProxyEvent } from 'aws-lambda';
import { TokengateClient, type TokengateClientOptions } from 'tokengate/client';
import { callerFrom, createTokenVerifier, forwardingFetch, requirePermission, type Caller } from 'tokengate/service';
import { defineApp, type Route } from 'tokengate/routes';
import { buildOpenApi, type OpenApiDocument } from 'tokengate/openapi';
import { Tokengate, type TokengateProps } from 'tokengate';

const options: TokengateClientOptions = { baseUrl: 'http://127.0.0.1:3000' };
export const client = new TokengateClient(options);
export function who(event: APIGatewayProxyEvent): string | undefined {
  const caller: Caller | undefined = callerFrom(event);
  return requirePermission(caller, 'hello:read') === undefined ? caller?.sub : undefined;
}
export const verifier = createTokenVerifier({ jwksUrl: 'https://api.example.com/.well-known/jwks.json', issuer: 'https://api.example.com', audience: 'my-api' });
export const forward = (event: APIGatewayProxyEvent) => forwardingFetch(event, { baseUrl: 'https://api.example.com/' });
export const app = defineApp({ services: { hello: { entry: './hello.ts' } }, routes: [{ method: 'GET', path: '/hello', permission: 'hello:read', handler: 'hello' }] });
export const doc: OpenApiDocument = buildOpenApi(app, { title: 'My API' });
export const route: Route = app.routes[0]!;
export type Props = TokengateProps;
export const construct: typeof Tokengate = Tokengate;
// The declarations are real types, not any:
// @ts-expect-error a route's handler must be a declared service
defineApp({ services: { hello: { entry: './hello.ts' } }, routes: [{ method: 'GET', path: '/x', permission: null, handler: 'nope' }] });
// @ts-expect-error the client needs its options
new TokengateClient();
`,
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] },
        include: ['*.ts'],
      }),
    );
    await run(process.execPath, [TSC, '-p', 'tsconfig.json'], project);
  }, 2 * MINUTE);
});
