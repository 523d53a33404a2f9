/**
 * service/forward.ts: the caller's own bearer token goes along on calls under the configured base URL, and
 * nowhere else (no request is made for a URL outside it); redirects are never followed with it.
 */
import { expect, test } from '@jest/globals';
import assert from 'node:assert/strict';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { bearerAuthorization, forwardAuthorization, forwardingFetch, ForwardingRefusedError } from '../../service/index.js';

const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln';
const event = { headers: { Authorization: `Bearer ${TOKEN}`, Host: 'x' } } as unknown as Pick<APIGatewayProxyEvent, 'headers'>;

/** A fetch that records what it was asked to send. */
function recorder() {
  const calls: { url: string; init: RequestInit }[] = [];
  const fetch = (async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} });
    return new Response('{}', { status: 200 });
  }) as typeof globalThis.fetch;
  return { calls, fetch };
}

test('the Authorization header is taken from an event, a Node request, a header value or the token', () => {
  assert.equal(bearerAuthorization(event), `Bearer ${TOKEN}`);
  assert.equal(bearerAuthorization({ headers: { authorization: `bearer  ${TOKEN}` } }), `Bearer ${TOKEN}`, 'scheme case-insensitive');
  assert.equal(bearerAuthorization(`Bearer ${TOKEN}`), `Bearer ${TOKEN}`);
  assert.equal(bearerAuthorization(TOKEN), `Bearer ${TOKEN}`);
  assert.equal(bearerAuthorization({ headers: { authorization: 'Basic dXNlcjpwdw==' } }), undefined);
  assert.equal(bearerAuthorization({ headers: null }), undefined);
  expect(forwardAuthorization(event)).toEqual({ Authorization: `Bearer ${TOKEN}` });
  assert.throws(() => forwardAuthorization({ headers: {} }), ForwardingRefusedError);
  assert.throws(() => forwardingFetch({ headers: {} }, { baseUrl: 'https://api.test/prod' }), ForwardingRefusedError);
});

test('paths go under the base (its stage prefix kept), with the caller\'s token; redirects are not followed', async () => {
  const r = recorder();
  const call = forwardingFetch(event, { baseUrl: 'https://api.test/prod', fetch: r.fetch });
  await call('/inventory/tea/reservations', { method: 'POST', body: '{"quantity":1}', headers: { 'X-Trace': '1', Authorization: 'Bearer someone-else' } });
  await call('https://api.test/prod/inventory/tea');
  assert.equal(r.calls.length, 2);
  assert.equal(r.calls[0]!.url, 'https://api.test/prod/inventory/tea/reservations');
  assert.equal(r.calls[1]!.url, 'https://api.test/prod/inventory/tea');
  const headers = r.calls[0]!.init.headers as Headers;
  assert.equal(headers.get('authorization'), `Bearer ${TOKEN}`, 'the caller\'s token, whatever the init said');
  assert.equal(headers.get('x-trace'), '1');
  assert.equal(headers.get('content-type'), 'application/json');
  assert.equal(r.calls[0]!.init.redirect, 'manual');
  assert.equal(r.calls[0]!.init.method, 'POST');
});

test('anything outside the base is refused before a request is made (token exfiltration guard)', async () => {
  const r = recorder();
  const call = forwardingFetch(`Bearer ${TOKEN}`, { baseUrl: 'https://api.test/prod/', fetch: r.fetch });
  for (const url of [
    'https://evil.test/prod/inventory',
    'http://api.test/prod/inventory',
    'https://api.test:8443/prod/inventory',
    'https://api.test/production/inventory',
    'https://api.test/other',
    'https://user:pw@api.test/prod/inventory',
    '/../admin',
    '/%2e%2e/admin',
    '//evil.test/prod/x',
    'inventory/tea',
    new URL('https://evil.test/prod/'),
  ]) {
    await expect(call(url)).rejects.toBeInstanceOf(ForwardingRefusedError);
  }
  assert.equal(r.calls.length, 0);
  assert.throws(() => forwardingFetch(event, { baseUrl: 'ftp://api.test/' }), TypeError);
  assert.throws(() => forwardingFetch(event, { baseUrl: 'https://u:p@api.test/' }), TypeError);
});
