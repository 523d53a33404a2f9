/**
 * Handlers read headers from `headers` or `multiValueHeaders` (a hand-made or SAM-generated event may carry only
 * the latter), in any case; JSON responses end with a newline (issue 11).
 */
import { expect, test } from '@jest/globals';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { bearerToken, header, readBody } from '../../lambdas/http/request.js';
import { errorResponse, json } from '../../lambdas/http/responses.js';
import { InvalidRequestError } from '../../lambdas/core/errors.js';

type Ev = Pick<APIGatewayProxyEvent, 'headers' | 'multiValueHeaders' | 'body' | 'isBase64Encoded'>;
const ev = (over: Partial<Ev>): Ev => ({ headers: {}, multiValueHeaders: {}, body: null, isBase64Encoded: false, ...over });

test('a header only in multiValueHeaders is read (its last value, as API Gateway copies it), in any case', () => {
  expect(header(ev({ multiValueHeaders: { authorization: ['Bearer a', 'Bearer b'] } }), 'Authorization')).toBe('Bearer b');
  expect(header(ev({ multiValueHeaders: { 'CONTENT-TYPE': ['application/json'] } }), 'content-type')).toBe('application/json');
  expect(bearerToken(ev({ multiValueHeaders: { Authorization: ['Bearer x.y.z'] } }))).toBe('x.y.z');
  // headers wins when both have it (it is what API Gateway hands the function first).
  expect(header(ev({ headers: { 'x-a': '1' }, multiValueHeaders: { 'X-A': ['2'] } }), 'X-A')).toBe('1');
  // Absent, null maps, empty lists, non-string junk: undefined, never a throw.
  expect(header(ev({}), 'Authorization')).toBeUndefined();
  expect(header({ headers: null as unknown as Record<string, string>, multiValueHeaders: null }, 'Authorization')).toBeUndefined();
  expect(header(ev({ multiValueHeaders: { Authorization: [] } }), 'Authorization')).toBeUndefined();
  expect(header(ev({ headers: { Authorization: 5 as unknown as string } }), 'Authorization')).toBeUndefined();
});

test('a JSON body whose Content-Type is only in multiValueHeaders, or in odd case, is JSON; a form body is a form', () => {
  const body = '{"username":"alice"}';
  expect(readBody(ev({ body, multiValueHeaders: { 'Content-Type': ['application/json'] } }))).toEqual({ username: 'alice' });
  expect(readBody(ev({ body, headers: { 'cOnTeNt-TyPe': 'application/json; charset=utf-8' } }))).toEqual({ username: 'alice' });
  expect(readBody(ev({ body: 'username=alice', multiValueHeaders: { 'content-type': ['application/x-www-form-urlencoded'] } }))).toEqual({ username: 'alice' });
  expect(() => readBody(ev({ body, multiValueHeaders: { 'Content-Type': ['text/plain'] } }))).toThrow(InvalidRequestError);
  expect(() => readBody(ev({ body: { username: 'alice' } as unknown as string }))).toThrow(new InvalidRequestError('body must be a string'));
});

test('JSON responses end with a newline (curl output does not run into the prompt) and stay JSON', () => {
  const res = json(200, { ok: true });
  expect(res.body).toBe('{"ok":true}\n');
  expect(JSON.parse(res.body)).toEqual({ ok: true });
  const err = errorResponse(new InvalidRequestError('nope'), () => {});
  expect(err.statusCode).toBe(400);
  expect(err.body.endsWith('}\n')).toBe(true);
});
