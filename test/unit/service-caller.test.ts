/**
 * service/caller.ts: the caller from the authorizer's context (exp by the injected clock), the one-line
 * permission check and the exact response shapes a service returns (401 as the gateway's, 403 naming the
 * missing permission, RFC 6750's WWW-Authenticate).
 */
import { expect, test } from '@jest/globals';
import assert from 'node:assert/strict';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { CALLER_LEEWAY_SECONDS, callerFrom, callerFromClaims, forbidden, requirePermission, unauthorized } from '../../service/index.js';

const NOW = Date.UTC(2026, 0, 1, 12);
const clock = { now: () => NOW };
const exp = NOW / 1000 + 600;
const eventWith = (authorizer: Record<string, unknown> | null): Pick<APIGatewayProxyEvent, 'requestContext'> =>
  ({ requestContext: { authorizer } }) as unknown as Pick<APIGatewayProxyEvent, 'requestContext'>;
const context = { principalId: 'carol', sub: 'carol', scope: 'orders:read orders:write', sid: 's1', jti: 'j1', exp: String(exp) };

test('callerFrom reads the authorizer context: sub, sid, jti, exp as a number, permissions and can()', () => {
  const caller = callerFrom(eventWith(context), { clock });
  assert.ok(caller);
  assert.equal(caller.sub, 'carol');
  assert.equal(caller.sid, 's1');
  assert.equal(caller.jti, 'j1');
  assert.equal(caller.exp, exp);
  expect(caller.permissions).toEqual(['orders:read', 'orders:write']);
  assert.ok(caller.can('orders:write'));
  assert.ok(!caller.can('inventory:reserve'));
  assert.ok(callerFromClaims({ sub: 'admin', exp, scope: 'inventory:*' }).can('inventory:reserve'), 'resource:* grants every action');
  assert.ok(!callerFromClaims({ sub: 'admin', exp, scope: 'inventory:*' }).can('orders:read'));
});

test('callerFrom: an expired token (exp + leeway <= now, by the injected clock) or a missing context is no caller', () => {
  const at = (ms: number) => ({ clock: { now: () => ms } });
  assert.ok(callerFrom(eventWith(context), at((exp + CALLER_LEEWAY_SECONDS) * 1000 - 1)));
  assert.equal(callerFrom(eventWith(context), at((exp + CALLER_LEEWAY_SECONDS) * 1000)), undefined);
  assert.equal(callerFrom(eventWith(context), { ...at(exp * 1000), leewaySeconds: 0 }), undefined, 'leeway is an option');
  assert.equal(callerFrom(eventWith({ ...context, exp: 'soon' }), { clock }), undefined);
  assert.equal(callerFrom(eventWith({ ...context, sub: '', principalId: '' }), { clock }), undefined);
  assert.equal(callerFrom(eventWith(null), { clock }), undefined);
  assert.equal(callerFrom({} as Pick<APIGatewayProxyEvent, 'requestContext'>, { clock }), undefined);
});

test('requirePermission: undefined when held, else a ready 403 naming the permission; 401 without a caller', () => {
  const carol = callerFrom(eventWith(context), { clock });
  assert.equal(requirePermission(carol, 'orders:write'), undefined);
  const denied = requirePermission(carol, 'inventory:reserve');
  assert.ok(denied);
  assert.equal(denied.statusCode, 403);
  expect(JSON.parse(denied.body)).toEqual({ message: 'Forbidden', error: 'insufficient_scope', required: 'inventory:reserve' });
  assert.equal(denied.headers?.['WWW-Authenticate'], 'Bearer error="insufficient_scope", scope="inventory:reserve"');
  assert.equal(denied.headers?.['Content-Type'], 'application/json');
  expect(denied).toEqual(forbidden('inventory:reserve'));

  const none = requirePermission(undefined, 'orders:read');
  assert.equal(none?.statusCode, 401);
  expect(JSON.parse(none!.body)).toEqual({ message: 'Unauthorized' });
  expect(none).toEqual(unauthorized());
});
