/**
 * Every client example of client/README.md and of the README's "Client library" section runs, as written, against
 * the local API (issue 11: the POST example used to answer 400). Only the base URL is pointed at the test stack,
 * the package import is bound to this repo's client, and the client's fetch records each answer (with a cookie
 * jar, so cookie mode works in Node as in a browser). No call may answer 4xx or 5xx.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';
import { TokengateClient, type TokengateClientOptions } from '../../client/index.js';
import { startTestStack, type TestStack } from '../helpers/local.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
let h: TestStack;
beforeAll(async () => {
  h = await startTestStack({ ACCESS_LOG: 'off' });
});
afterAll(async () => h?.close());

function tsBlocks(file: string, section?: string): string[] {
  let md = readFileSync(`${root}${file}`, 'utf8');
  if (section) {
    const start = md.indexOf(section);
    md = md.slice(start, md.indexOf('\n## ', start + section.length));
  }
  return [...md.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

interface Call {
  method: string;
  path: string;
  status: number;
}

/** Runs one example: the import bound, the base URL ours, TypeScript stripped, top-level await allowed. */
async function runExample(code: string): Promise<{ calls: Call[]; logged: unknown[] }> {
  const calls: Call[] = [];
  const logged: unknown[] = [];
  const jar = new Map<string, string>();
  const recordingFetch = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const headers = new Headers(init.headers);
    if (jar.size > 0) headers.set('Cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(input, { ...init, headers });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      if (/max-age=0/i.test(cookie)) jar.delete(name);
      else jar.set(name, pair!.slice(eq + 1));
    }
    calls.push({ method: init.method ?? 'GET', path: new URL(String(input)).pathname, status: res.status });
    return res;
  };
  class Client extends TokengateClient {
    constructor(options: TokengateClientOptions) {
      super({ ...options, fetch: recordingFetch as typeof fetch });
    }
  }
  const source = code
    .replace(/^import .* from 'tokengate\/client';.*$/gm, '')
    .replace(/baseUrl: '[^']*'/g, `baseUrl: ${JSON.stringify(h.url)}`);
  const js = (await transform(source, { loader: 'ts', format: 'esm', target: 'es2022' })).code;
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => (...a: unknown[]) => Promise<void>;
  const run = new AsyncFunction('TokengateClient', 'console', 'username', 'password', 'showLoginPage', js);
  await run(Client, { log: (...a: unknown[]) => logged.push(a) }, 'alice', 'alice-password-1', () => logged.push('login page'));
  return { calls, logged };
}

test('client/README.md: every example runs, every call succeeds (the POST creates the order: 201)', async () => {
  const blocks = tsBlocks('client/README.md');
  expect(blocks.length).toBeGreaterThanOrEqual(3);
  const all: Call[] = [];
  for (const block of blocks) {
    const { calls, logged } = await runExample(block);
    all.push(...calls);
    expect(calls.filter((c) => c.status >= 400)).toEqual([]);
    if (block.includes("method: 'POST'")) {
      expect(calls.find((c) => c.method === 'POST' && c.path === '/orders')?.status).toBe(201);
      expect(logged[0]).toEqual([201, expect.objectContaining({ sub: 'alice' })]);
    }
  }
  // The Node example logs in, reads, creates and logs out; the browser one logs in with the refresh token in a cookie.
  expect(all.map((c) => `${c.method} ${c.path} ${c.status}`)).toEqual(
    expect.arrayContaining(['POST /auth/login 200', 'GET /orders 200', 'POST /orders 201', 'POST /auth/logout 204']),
  );
});

test("README.md's client example runs as written", async () => {
  const [block] = tsBlocks('README.md', '## Client library');
  expect(block).toBeDefined();
  const { calls, logged } = await runExample(block!);
  expect(calls.map((c) => `${c.method} ${c.path} ${c.status}`)).toEqual(['POST /auth/login 200', 'GET /orders 200', 'POST /auth/logout 204']);
  expect(logged).toEqual([[expect.objectContaining({ sub: 'alice' })]]);
});
