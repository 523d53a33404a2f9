import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { corsHeaders, parseOrigins, withCors } from '../../lambdas/http/cors.js';

const ev = (origin?: string) => ({ headers: origin ? { Origin: origin } : {} });

test('only listed origins are echoed, with credentials and the headers a browser client needs', async () => {
  const allowed = parseOrigins(' https://app.example , https://admin.example');
  assert.deepEqual(allowed, ['https://app.example', 'https://admin.example']);
  assert.deepEqual(corsHeaders(ev('https://evil.example'), allowed), {});
  assert.deepEqual(corsHeaders(ev(), allowed), {});
  const h = corsHeaders(ev('https://app.example'), allowed);
  assert.equal(h['Access-Control-Allow-Origin'], 'https://app.example');
  assert.equal(h['Access-Control-Allow-Credentials'], 'true');
  assert.match(h['Access-Control-Expose-Headers'] ?? '', /Retry-After/);
  const wrapped = withCors(allowed, async () => ({ statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: '{}' }));
  const res = await wrapped(ev('https://app.example'));
  assert.equal(res.headers?.['Content-Type'], 'application/json');
  assert.equal(res.headers?.['Access-Control-Allow-Origin'], 'https://app.example');
  assert.equal((await wrapped(ev('https://evil.example'))).headers?.['Access-Control-Allow-Origin'], undefined);
});
