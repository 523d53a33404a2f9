/** The client labels a JSON string body application/json (fetch would say text/plain and the API answers 400). */
import { expect, test } from '@jest/globals';
import { TokengateClient } from '../../client/index.js';
import { isJsonText } from '../../client/http.js';

function recordingClient() {
  const sent: { url: string; contentType: string | null }[] = [];
  const fetchFn = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = String(input);
    sent.push({ url, contentType: new Headers(init?.headers).get('content-type') });
    if (url.endsWith('/auth/login')) {
      return new Response(JSON.stringify({ access_token: 'a.b.c', token_type: 'Bearer', expires_in: 900, refresh_token: 'rt_x' }), { status: 200 });
    }
    return new Response('{}', { status: 200 });
  };
  return { client: new TokengateClient({ baseUrl: 'https://api.example.com/prod', fetch: fetchFn as typeof fetch }), sent };
}

test('JSON string bodies get Content-Type: application/json unless the caller set one', async () => {
  const { client, sent } = recordingClient();
  await client.login('alice', 'alice-password-1');
  await client.fetch('/orders', { method: 'POST', body: JSON.stringify({ item: 'tea', quantity: 2 }) });
  await client.fetch('/orders', { method: 'POST', body: ' [1,2] ' });
  await client.fetch('/orders', { method: 'POST', body: JSON.stringify({ a: 1 }), headers: { 'Content-Type': 'application/merge-patch+json' } });
  await client.fetch('/notes', { method: 'POST', body: 'plain words' });
  await client.fetch('/notes', { method: 'POST', body: '{not json' });
  await client.fetch('/form', { method: 'POST', body: new URLSearchParams({ a: '1' }) });
  await client.fetch('/orders');
  expect(sent.slice(1).map((s) => s.contentType)).toEqual([
    'application/json',
    'application/json',
    'application/merge-patch+json',
    // Not JSON: left to fetch, which labels them itself (text/plain, form encoding).
    null,
    null,
    null,
    null,
  ]);
});

test('isJsonText: only strings that are JSON objects or arrays', () => {
  expect(isJsonText('{"a":1}')).toBe(true);
  expect(isJsonText('\n [] ')).toBe(true);
  expect(isJsonText('"str"')).toBe(false);
  expect(isJsonText('42')).toBe(false);
  expect(isJsonText('{')).toBe(false);
  expect(isJsonText(undefined)).toBe(false);
  expect(isJsonText(new Blob(['{}']))).toBe(false);
});
