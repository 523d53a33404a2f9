/**
 * IAM policy evaluation for `execute-api:Invoke`, as API Gateway applies an authorizer's policy:
 * wildcards, action matching, explicit Deny precedence, implicit deny, and the documents it refuses.
 */
import { describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { compilePolicy, evaluatePolicy, PolicyFormatError, type PolicyDecision } from '../../lib/local/policy-eval.js';
import { compileWildcard, wildcardMatch } from '../../lib/local/wildcard.js';

const P = 'arn:aws:execute-api:us-east-1:123456789012:api1/prod/';

type Stmt = { Effect: string; Action?: unknown; Resource?: unknown; Condition?: unknown };
const doc = (...Statement: Stmt[]): unknown => ({
  Version: '2012-10-17',
  Statement: Statement.map((s) => ({ Action: 'execute-api:Invoke', ...s })),
});
const decide = (document: unknown, arn: string): PolicyDecision => evaluatePolicy(compilePolicy(document), arn);

describe('wildcards', () => {
  const cases: [pattern: string, subject: string, expected: boolean][] = [
    ['abc', 'abc', true],
    ['abc', 'abcd', false],
    ['abc', 'ABC', false], // case-sensitive
    ['*', '', true],
    ['*', 'anything/at/all', true],
    ['a*', 'a', true],
    ['a*', 'a/b/c', true],
    ['a*', 'ba', false],
    ['*c', 'abc', true],
    ['*c', 'abcd', false],
    ['a*c', 'ac', true],
    ['a*c', 'a/b/c', true], // '*' crosses '/'
    ['a*c', 'a/b/cd', false],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false], // '?' is exactly one character
    ['a?c', 'abbc', false],
    ['a?c', 'a/c', true],
    ['??', 'ab', true],
    ['??', 'a', false],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXcYb', false],
    ['a*?', 'a', false],
    ['a*?', 'ab', true],
    ['**', 'x', true],
    ['a.b', 'aXb', false], // no regex semantics
    ['a+b', 'a+b', true],
    ['(x)[y]', '(x)[y]', true],
  ];
  for (const [pattern, subject, expected] of cases) {
    test(`${JSON.stringify(pattern)} vs ${JSON.stringify(subject)} → ${expected}`, () => {
      assert.equal(wildcardMatch(pattern, subject), expected);
      assert.equal(compileWildcard(pattern)(subject), expected);
    });
  }

  test('a pathological pattern against a long subject stays fast (no regex backtracking)', () => {
    const pattern = `${'*a'.repeat(20)}*b`;
    const subject = 'a'.repeat(20_000);
    const started = performance.now();
    assert.equal(wildcardMatch(pattern, subject), false);
    assert.ok(performance.now() - started < 500, 'took too long');
  });
});

describe('policy evaluation', () => {
  test('an Allow for the exact method ARN allows it, and nothing else', () => {
    const policy = doc({ Effect: 'Allow', Resource: `${P}GET/orders` });
    assert.equal(decide(policy, `${P}GET/orders`), 'allow');
    assert.equal(decide(policy, `${P}GET/orders/1`), 'implicit-deny');
    assert.equal(decide(policy, `${P}POST/orders`), 'implicit-deny');
  });

  test('resource wildcards: path parameters, methods, stages', () => {
    const policy = doc({ Effect: 'Allow', Resource: [`${P}GET/orders/*`, `${P}*/public`, 'arn:aws:execute-api:us-east-1:123456789012:api1/*/PUT/items/?'] });
    assert.equal(decide(policy, `${P}GET/orders/42`), 'allow');
    assert.equal(decide(policy, `${P}GET/orders/42/items`), 'allow'); // '*' spans segments, as in IAM
    assert.equal(decide(policy, `${P}GET/orders`), 'implicit-deny'); // the '/' before '*' is literal
    assert.equal(decide(policy, `${P}DELETE/public`), 'allow');
    assert.equal(decide(policy, 'arn:aws:execute-api:us-east-1:123456789012:api1/dev/PUT/items/7'), 'allow');
    assert.equal(decide(policy, 'arn:aws:execute-api:us-east-1:123456789012:api1/dev/PUT/items/77'), 'implicit-deny');
  });

  test('resources are case-sensitive', () => {
    const policy = doc({ Effect: 'Allow', Resource: `${P}GET/Orders` });
    assert.equal(decide(policy, `${P}GET/orders`), 'implicit-deny');
    assert.equal(decide(policy, `${P}get/Orders`), 'implicit-deny');
  });

  test('an explicit Deny wins over any Allow, in any order', () => {
    const allow = { Effect: 'Allow', Resource: `${P}*` };
    const deny = { Effect: 'Deny', Resource: `${P}DELETE/orders/*` };
    for (const policy of [doc(allow, deny), doc(deny, allow)]) {
      assert.equal(decide(policy, `${P}DELETE/orders/1`), 'explicit-deny');
      assert.equal(decide(policy, `${P}GET/orders/1`), 'allow');
    }
  });

  test('a Deny alone is explicit for what it covers and implicit for the rest', () => {
    const policy = doc({ Effect: 'Deny', Resource: `${P}GET/*` });
    assert.equal(decide(policy, `${P}GET/orders`), 'explicit-deny');
    assert.equal(decide(policy, `${P}POST/orders`), 'implicit-deny');
  });

  test('actions: execute-api:Invoke, execute-api:*, * and wildcards match, case-insensitively; others do not', () => {
    for (const Action of ['execute-api:Invoke', 'execute-api:invoke', 'EXECUTE-API:*', 'execute-api:*', '*', 'execute-api:Inv*', ['s3:GetObject', 'execute-api:Invoke']]) {
      assert.equal(decide(doc({ Effect: 'Allow', Action, Resource: '*' }), `${P}GET/x`), 'allow', JSON.stringify(Action));
    }
    for (const Action of ['s3:GetObject', 'execute-api:ManageConnections', 'execute-api:InvokeX', ['s3:*']]) {
      assert.equal(decide(doc({ Effect: 'Allow', Action, Resource: '*' }), `${P}GET/x`), 'implicit-deny', JSON.stringify(Action));
    }
    // a Deny for another action denies nothing here
    assert.equal(decide(doc({ Effect: 'Allow', Resource: '*' }, { Effect: 'Deny', Action: 's3:*', Resource: '*' }), `${P}GET/x`), 'allow');
  });

  test('no statements, or none matching, is an implicit deny', () => {
    assert.equal(decide({ Version: '2012-10-17', Statement: [] }, `${P}GET/x`), 'implicit-deny');
    assert.equal(decide(doc({ Effect: 'Allow', Resource: `${P}POST/x` }), `${P}GET/x`), 'implicit-deny');
  });

  test('a single statement object and a string Resource are accepted', () => {
    const policy = { Version: '2012-10-17', Statement: { Effect: 'Allow', Action: 'execute-api:Invoke', Resource: `${P}GET/x` } };
    assert.equal(decide(policy, `${P}GET/x`), 'allow');
  });

  test('conditions cannot be evaluated here, so they fail closed', () => {
    const Condition = { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } };
    assert.equal(decide(doc({ Effect: 'Allow', Resource: '*', Condition }), `${P}GET/x`), 'implicit-deny');
    assert.equal(decide(doc({ Effect: 'Allow', Resource: '*' }, { Effect: 'Deny', Resource: '*', Condition }), `${P}GET/x`), 'explicit-deny');
  });

  test('compiling does not touch the input document', () => {
    const resources = [`${P}GET/a`, `${P}GET/b/*`];
    const policy = doc({ Effect: 'Allow', Resource: resources });
    const before = JSON.stringify(policy);
    compilePolicy(policy);
    assert.equal(JSON.stringify(policy), before);
  });

  const invalid: [string, unknown][] = [
    ['no document', undefined],
    ['a string', 'Allow'],
    ['an array', []],
    ['no Statement', { Version: '2012-10-17' }],
    ['a string Statement', { Version: '2012-10-17', Statement: 'Allow' }],
    ['a non-object statement', { Version: '2012-10-17', Statement: [42] }],
    ['a lowercase Effect', doc({ Effect: 'allow', Resource: '*' })],
    ['no Effect', { Statement: [{ Action: 'execute-api:Invoke', Resource: '*' }] }],
    ['no Action', { Statement: [{ Effect: 'Allow', Resource: '*' }] }],
    ['no Resource', doc({ Effect: 'Allow' })],
    ['NotResource instead of Resource', { Statement: [{ Effect: 'Allow', Action: 'execute-api:Invoke', NotResource: '*' }] }],
    ['an empty Resource list', doc({ Effect: 'Allow', Resource: [] })],
    ['a non-string resource', doc({ Effect: 'Allow', Resource: [`${P}GET/x`, 7] })],
    ['a numeric Version', { Version: 2012, Statement: [] }],
  ];
  for (const [name, document] of invalid) {
    test(`refuses a policy with ${name}`, () => {
      assert.throws(() => compilePolicy(document), PolicyFormatError);
    });
  }

  // How fast re-evaluation is belongs to `npm run bench` (the gateway section), not to a timed unit test: here, that
  // one compiled policy answers many different requests, each exactly as a fresh compilation would.
  test('one compiled policy answers many requests, each as a fresh compilation would', () => {
    const resources = Array.from({ length: 20 }, (_, i) => `${P}GET/resource${i}/*`);
    const document = doc({ Effect: 'Allow', Resource: resources }, { Effect: 'Allow', Resource: `${P}GET/orders` });
    const policy = compilePolicy(document);
    for (let i = 0; i < 2_000; i++) {
      const arn = i % 2 === 0 ? `${P}GET/resource${i % 20}/${i}` : `${P}POST/resource${i % 20}/${i}`;
      assert.equal(evaluatePolicy(policy, arn), evaluatePolicy(compilePolicy(document), arn), arn);
      assert.equal(evaluatePolicy(policy, arn), i % 2 === 0 ? 'allow' : evaluatePolicy(policy, `${P}DELETE/x`), arn);
    }
    assert.equal(evaluatePolicy(policy, `${P}GET/orders`), 'allow');
  });
});
