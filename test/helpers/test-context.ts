/**
 * The one part of node:test's per-test context the suite uses, for jest: `t.after(fn)` registers a cleanup that
 * runs once the current test has ended, passed or failed, before the next test starts.
 *
 * Jest gives a test function no context (a parameter would be taken for a `done` callback), so a file makes one
 * context at module level, `const t = testContext();`, and its tests use that `t`. The cleanups run in an
 * afterEach hook in the order they were registered (as node:test runs `after` hooks); each runs even if an
 * earlier one throws, and the first error (or all of them, as an AggregateError) fails the test.
 */
import { afterEach } from '@jest/globals';

export interface TestContext {
  /** Runs `fn` after the current test, whether it passed or failed. */
  after(fn: () => unknown): void;
}

export function testContext(): TestContext {
  const pending: (() => unknown)[] = [];
  afterEach(async () => {
    const errors: unknown[] = [];
    for (const fn of pending.splice(0)) {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} cleanups registered with t.after() failed`);
  });
  return {
    after(fn) {
      pending.push(fn);
    },
  };
}
