/** The throttle's settings and how it names a client (IPv4 as is, IPv6 per /64, anything else as one bucket). */
import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { throttleConfig } from '../../lambdas/core/config.js';
import { ConfigError } from '../../lambdas/core/errors.js';
import { clientBucket } from '../../lambdas/core/throttle.js';

test('defaults: 5 per (name, address), 100 per name, 50 per address, 900 s windows', () => {
  assert.deepEqual(throttleConfig({}), { maxFailures: 5, maxFailuresPerUser: 100, maxFailuresPerAddress: 50, windowSeconds: 900 });
  assert.deepEqual(
    throttleConfig({ LOGIN_MAX_FAILURES: '3', LOGIN_MAX_FAILURES_PER_USER: '30', LOGIN_MAX_FAILURES_PER_ADDRESS: '20', LOGIN_WINDOW_SECONDS: '600' }),
    { maxFailures: 3, maxFailuresPerUser: 30, maxFailuresPerAddress: 20, windowSeconds: 600 },
  );
});

test('wider limits below the per-pair limit, or a window under a minute, are configuration errors', () => {
  assert.throws(() => throttleConfig({ LOGIN_MAX_FAILURES_PER_USER: '4' }), ConfigError);
  assert.throws(() => throttleConfig({ LOGIN_MAX_FAILURES_PER_ADDRESS: '4' }), ConfigError);
  assert.throws(() => throttleConfig({ LOGIN_WINDOW_SECONDS: '59' }), ConfigError);
  assert.throws(() => throttleConfig({ LOGIN_MAX_FAILURES: '0' }), ConfigError);
  assert.throws(() => throttleConfig({ LOGIN_MAX_FAILURES: 'five' }), ConfigError);
});

test('client buckets: IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 per /64, the rest as "unknown"', () => {
  assert.equal(clientBucket('203.0.113.10'), '203.0.113.10');
  assert.equal(clientBucket('::ffff:203.0.113.10'), '203.0.113.10');
  assert.equal(clientBucket('2001:db8:1:2::1'), '2001:db8:1:2::/64');
  assert.equal(clientBucket('2001:0DB8:0001:0002:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64');
  assert.equal(clientBucket('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(clientBucket('::1'), '0:0:0:0::/64');
  assert.equal(clientBucket('fe80::1:2:3:4'), 'fe80:0:0:0::/64');
  assert.equal(clientBucket('64:ff9b::192.0.2.33'), '64:ff9b:0:0::/64');
  for (const bad of [undefined, '', 'localhost', '203.0.113.10, 10.0.0.1', '1.2.3', '2001:db8:::1', '#'.repeat(50)]) {
    assert.equal(clientBucket(bad), 'unknown', String(bad));
  }
});
