/**
 * Local mode under a burst of logins: the stack started the way `npm start` starts it (store on disk in the
 * data dir, OWASP scrypt cost ln=17, the system clock, demo users), then 50 concurrent logins with the right
 * password. Every answer is 200 or 429 (with Retry-After), never a 5xx: password hashes are bounded so that
 * the store's calls, which share Node's thread pool with scrypt, are never starved past their timeout.
 */
import { afterAll, beforeAll, describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_USERS, startLocalStack, type LocalStack } from '../../lib/local/stack.js';
import { postFrom, type AddressedReply } from '../helpers/from-address.js';
import { testContext } from '../helpers/test-context.js';

// The test context: t.after(fn) cleans up after the current test (test/helpers/test-context.ts).
const t = testContext();

const tally = (rs: AddressedReply[]): Record<number, number> =>
  rs.reduce<Record<number, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {});

describe('npm start under a burst of logins', () => {
  let stack: LocalStack;
  let dataDir: string;
  const errors: string[] = [];
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tokengate-burst-'));
    // As bin/local.ts does: the environment as given (no test overrides of the scrypt cost), a store on disk.
    stack = await startLocalStack({
      port: 0,
      env: { LOCAL_DATA_DIR: dataDir, ACCESS_LOG: 'off' },
      onFunctionError: (err, fn) => errors.push(`[${fn}] ${(err as Error)?.name}: ${(err as Error)?.message}`),
    });
  });
  afterAll(async () => {
    await stack?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const alice = DEMO_USERS[0];

  const check = (replies: AddressedReply[], diagnostic: (m: string) => void) => {
    const t = tally(replies);
    diagnostic(`statuses ${JSON.stringify(t)}`);
    const fivexx = replies.filter((r) => r.status >= 500);
    assert.deepEqual(fivexx.map((r) => `${r.status} ${r.text}`), [], `statuses ${JSON.stringify(t)}; function errors: ${errors.join('; ')}`);
    for (const r of replies) {
      assert.ok(r.status === 200 || r.status === 429, `unexpected ${r.status}: ${r.text}`);
      if (r.status === 429) assert.match(String(r.headers['retry-after']), /^\d+$/);
      if (r.status === 200) assert.equal(typeof r.json.access_token, 'string');
    }
    assert.ok((t[200] ?? 0) >= 1, `at least one login succeeds: ${JSON.stringify(t)}`);
  };

  test('50 concurrent logins of one user from one address: each 200 or 429, never a 5xx', async () => {
    const replies = await Promise.all(
      Array.from({ length: 50 }, () => postFrom(stack.url, '/auth/login', { username: alice.username, password: alice.password }, '127.0.0.1')),
    );
    check(replies, (m) => console.log(m));
  });

  test('50 concurrent logins of the demo users from ten addresses (many hashes at once): each 200 or 429, never a 5xx', async () => {
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) => {
        const u = DEMO_USERS[i % DEMO_USERS.length]!;
        return postFrom(stack.url, '/auth/login', { username: u.username, password: u.password }, `127.0.9.${(i % 10) + 1}`);
      }),
    );
    check(replies, (m) => console.log(m));
  });
});
