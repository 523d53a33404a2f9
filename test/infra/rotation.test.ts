/**
 * Key rotation without an outage, checked on the synthesized templates of the documented deploys
 * (docs/DEPLOY.md, "Signing-key rotation"): add a key → make it active → retire the old one.
 *
 * For each deploy, every state CloudFormation may pass through is enumerated: a resource is updated (or
 * created) only after everything it references (Ref, GetAtt, DependsOn, transitively) has been, in any order
 * otherwise; resources removed from the template go in the cleanup phase, after all updates (a retained KMS key
 * stays in KMS with its last key policy). In every state:
 * - each signing function (login, refresh) signs with the key its KMS_KEY_ID names; that key must be signable by
 *   its role: its identity policy allows kms:Sign on it and the key's policy does not deny it, both in the
 *   version before the deploy and in the current one (a grant added or a deny lifted in this very deploy may
 *   not be visible yet: IAM and KMS are eventually consistent), and the key must exist from before this deploy
 *   (right after CreateKey, KMS may still answer NotFound);
 * - the function's own JWKS names that key first (the `kid` it writes is JWKS_JSON's first key);
 * - every verifier (every function with JWKS_JSON: the authorizer, logout, jwks, …) publishes every key a token
 *   may still be signed with: the keys signing at the end of the previous deploy (the docs wait the access-token
 *   lifetime before the retiring deploy, so older ones have expired) and every key used in any state so far.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from '@jest/globals';
import { logicalId, synth, type Synth } from './support.js';

interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
  DeletionPolicy?: string;
}
type Resources = Record<string, Resource>;
type Version = 'old' | 'new';

const keysContext = (names: string[], active: string) => ({ 'tokengate:signingKeys': names, 'tokengate:activeSigningKey': active });

// The documented rotation, from a stack running with one key named "primary".
const start = synth(keysContext(['primary'], 'primary'));
const added = synth(keysContext(['primary', 'k2'], 'primary'));
const switched = synth(keysContext(['primary', 'k2'], 'k2'));
const retired = synth(keysContext(['k2'], 'k2'));

const resourcesOf = (s: Synth): Resources => s.json.Resources as Resources;
const signerRoles = (s: Synth): Map<string, string> =>
  new Map((['login', 'refresh'] as const).map((n) => [logicalId(s.stack, s.tokengate.functions[n].fn), logicalId(s.stack, s.tokengate.functions[n].role)]));

/** Every logical id `value` references (Ref, GetAtt), anywhere inside. */
function references(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) value.forEach((v) => references(v, out));
  else if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.Ref === 'string' && !o.Ref.startsWith('AWS::')) out.add(o.Ref);
    const getAtt = o['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') out.add(getAtt[0]);
    Object.values(o).forEach((v) => references(v, out));
  }
  return out;
}

/** Direct dependencies of every resource of a template. */
function dependencies(resources: Resources): Map<string, Set<string>> {
  return new Map(
    Object.entries(resources).map(([id, r]) => {
      const deps = references(r.Properties);
      for (const d of [r.DependsOn ?? []].flat()) deps.add(d);
      deps.delete(id);
      return [id, new Set([...deps].filter((d) => d in resources))];
    }),
  );
}

/**
 * `value` with intrinsics resolved to what matters here: a KMS key or a role becomes `key:<id>` / `role:<id>`
 * (both keep their logical id across the deploys); the JWKS attribute becomes `{ jwks: [keys…] }`, computed from
 * the custom resource's KeyIds in the same template (the value the function received when it was last updated).
 */
function resolve(value: unknown, resources: Resources): unknown {
  if (Array.isArray(value)) return value.map((v) => resolve(v, resources));
  if (!value || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  const target = typeof o.Ref === 'string' ? o.Ref : Array.isArray(o['Fn::GetAtt']) ? (o['Fn::GetAtt'] as string[])[0] : undefined;
  if (target !== undefined && Object.keys(o).length === 1) {
    const r = resources[target];
    const attr = Array.isArray(o['Fn::GetAtt']) ? (o['Fn::GetAtt'] as string[])[1] : 'Ref';
    if (r?.Type === 'AWS::KMS::Key') return `key:${target}`;
    if (r?.Type === 'AWS::IAM::Role') return `role:${target}`;
    if (r?.Type === 'Custom::TokengateJwks' && attr === 'Jwks') return { jwks: resolve(r.Properties?.KeyIds, resources) };
    return `${attr}:${target}`;
  }
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, resolve(v, resources)]));
}

interface Deploy {
  readonly name: string;
  readonly before: Synth;
  readonly after: Synth;
}

/** One state: which version of each resource is live (absent: not created yet, or gone). */
type State = Map<string, Version | 'absent'>;

/**
 * Every state of `deploy`: for the resources that matter (keys, the signer roles' policies, the JWKS resource,
 * every function with KMS_KEY_ID or JWKS_JSON) that change, each set of updated ones that is closed under
 * dependencies; then the final state, after cleanup.
 */
function states(deploy: Deploy): { states: State[]; final: State; relevant: string[] } {
  const before = resourcesOf(deploy.before);
  const after = resourcesOf(deploy.after);
  const signers = new Set(signerRoles(deploy.after).values());
  const isRelevant = (r: Resource): boolean => {
    if (r.Type === 'AWS::KMS::Key' || r.Type === 'Custom::TokengateJwks') return true;
    if (r.Type === 'AWS::IAM::Policy') return (r.Properties?.Roles as { Ref: string }[]).some((x) => signers.has(x.Ref));
    if (r.Type === 'AWS::Lambda::Function') {
      const env = (r.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
      return 'KMS_KEY_ID' in env || 'JWKS_JSON' in env;
    }
    return false;
  };
  const ids = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((id) => isRelevant((after[id] ?? before[id]) as Resource));
  const changed = (id: string) =>
    !(id in before) || !(id in after) ||
    JSON.stringify(resolve(before[id], before)) !== JSON.stringify(resolve(after[id], after));

  // Transitive dependencies in the new template, restricted to the resources that change and matter.
  const direct = dependencies(after);
  const closure = (id: string): Set<string> => {
    const seen = new Set<string>();
    const stack = [...(direct.get(id) ?? [])];
    while (stack.length > 0) {
      const d = stack.pop() as string;
      if (seen.has(d)) continue;
      seen.add(d);
      stack.push(...(direct.get(d) ?? []));
    }
    return seen;
  };
  const moving = ids.filter((id) => id in after && changed(id));
  const deps = new Map(moving.map((id) => [id, [...closure(id)].filter((d) => moving.includes(d))]));
  const order: string[] = [];
  const visit = (id: string) => {
    if (order.includes(id)) return;
    for (const d of deps.get(id) ?? []) visit(d);
    order.push(id);
  };
  moving.forEach(visit);

  const base: State = new Map(ids.map((id) => [id, id in before ? 'old' : 'absent']));
  const out: State[] = [];
  const walk = (i: number, done: Set<string>) => {
    if (i === order.length) {
      out.push(new Map([...base, ...[...done].map((id): [string, Version] => [id, 'new'])]));
      return;
    }
    const id = order[i] as string;
    walk(i + 1, done);
    if ((deps.get(id) ?? []).every((d) => done.has(d))) walk(i + 1, new Set([...done, id]));
  };
  walk(0, new Set());

  const final: State = new Map(ids.map((id): [string, Version | 'absent'] => {
    if (id in after) return [id, 'new'];
    // Removed in cleanup; a retained key stays in KMS as it was.
    const r = before[id] as Resource;
    return [id, r.Type === 'AWS::KMS::Key' && /^Retain/.test(r.DeletionPolicy ?? '') ? 'old' : 'absent'];
  }));
  return { states: out, final, relevant: order };
}

interface Statement { Effect: string; Action: string | string[]; Resource?: unknown; Principal?: unknown; Condition?: Record<string, Record<string, unknown>> }

const asList = <T,>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const signs = (s: Statement) => asList(s.Action).some((a) => a === 'kms:Sign' || a === 'kms:*');

class View {
  constructor(private readonly deploy: Deploy, private readonly state: State) {}

  private resource(id: string, version?: Version): { r: Resource; all: Resources } | undefined {
    const v = version ?? this.state.get(id);
    if (v === 'absent' || v === undefined) return undefined;
    const all = resourcesOf(v === 'old' ? this.deploy.before : this.deploy.after);
    const r = all[id];
    return r ? { r, all } : undefined;
  }

  env(fn: string): Record<string, unknown> {
    const x = this.resource(fn);
    assert.ok(x, `${fn} exists`);
    return resolve((x.r.Properties?.Environment as { Variables: unknown }).Variables, x.all) as Record<string, unknown>;
  }

  jwks(fn: string): string[] {
    return (this.env(fn).JWKS_JSON as { jwks: string[] }).jwks;
  }

  verifiers(): string[] {
    return [...this.state.keys()].filter((id) => {
      const x = this.resource(id);
      return x?.r.Type === 'AWS::Lambda::Function' && 'JWKS_JSON' in ((x.r.Properties?.Environment as { Variables: object }).Variables);
    });
  }

  /** Whether `role` may kms:Sign with `key` under `version` of the policies ('current': this state's). */
  maySign(role: string, key: string, version: Version | 'current'): boolean {
    const pick = (id: string) => this.resource(id, version === 'current' ? undefined : version);
    const keyRes = pick(key.slice('key:'.length));
    if (!keyRes) return false;
    const keyPolicy = asList((keyRes.r.Properties?.KeyPolicy as { Statement: Statement[] }).Statement).map((s) => resolve(s, keyRes.all) as Statement);
    const denied = keyPolicy.some((s) => {
      if (s.Effect !== 'Deny' || !signs(s)) return false;
      if (!s.Condition) return true;
      const except = s.Condition.ArnNotEquals?.['aws:PrincipalArn'];
      assert.ok(except !== undefined && Object.keys(s.Condition).length === 1, `unmodelled condition ${JSON.stringify(s.Condition)}`);
      return !asList(except).includes(`role:${role}`);
    });
    // The account-root statement lets identity policies grant use of the key.
    const delegates = keyPolicy.some((s) => s.Effect === 'Allow' && JSON.stringify(s.Principal).includes(':root') && asList(s.Action).includes('kms:*'));
    if (denied || !delegates) return false;
    const policies = [...this.state.keys()].map((id) => pick(id)).filter((x): x is { r: Resource; all: Resources } =>
      x?.r.Type === 'AWS::IAM::Policy' && asList(x.r.Properties?.Roles as { Ref: string }[]).some((r) => r.Ref === role));
    return policies.some(({ r, all }) =>
      asList((r.Properties?.PolicyDocument as { Statement: Statement[] }).Statement)
        .map((s) => resolve(s, all) as Statement)
        .some((s) => s.Effect === 'Allow' && signs(s) && asList(s.Resource).includes(key)));
  }

  existedBefore(key: string): boolean {
    return this.resource(key.slice('key:'.length), 'old') !== undefined;
  }
}

/**
 * Checks every state of `deploy`; `stillValid` are the keys tokens may still be signed with when it starts.
 * Returns the problems found (empty: no outage, no refused valid token) and the keys signing at its end.
 */
function check(deploy: Deploy, stillValid: ReadonlySet<string>): { problems: string[]; signingAtEnd: Set<string>; stateCount: number } {
  const { states: all, final } = states(deploy);
  const problems: string[] = [];
  const signedWith = new Set(stillValid);
  const roles = signerRoles(deploy.after);
  const examine = (state: State, label: string) => {
    const view = new View(deploy, state);
    for (const [fn, role] of roles) {
      if (state.get(fn) === 'absent') continue;
      const key = view.env(fn).KMS_KEY_ID as string;
      signedWith.add(key);
      if (!view.existedBefore(key)) problems.push(`${label}: ${fn} signs with ${key}, created in this very deploy`);
      for (const v of ['old', 'current'] as const) {
        if (!view.maySign(role, key, v)) problems.push(`${label}: ${fn} may not sign with ${key} (${v} policies)`);
      }
      if (view.jwks(fn)[0] !== key) problems.push(`${label}: ${fn} signs with ${key} but writes the kid of ${view.jwks(fn)[0]}`);
    }
    for (const fn of view.verifiers()) {
      const published = view.jwks(fn);
      for (const key of signedWith) {
        if (!published.includes(key)) problems.push(`${label}: ${fn} does not accept tokens signed with ${key}`);
      }
    }
  };
  all.forEach((state, i) => examine(state, `${deploy.name}, state ${i + 1}/${all.length}`));
  examine(final, `${deploy.name}, after cleanup`);
  const signingAtEnd = new Set([...roles.keys()].map((fn) => new View(deploy, final).env(fn).KMS_KEY_ID as string));
  return { problems, signingAtEnd, stateCount: all.length };
}

const key = (s: Synth, name: string) => {
  const k = s.tokengate.signingKeys.keys.get(name);
  assert.ok(k);
  return `key:${logicalId(s.stack, k)}`;
};

describe('signing-key rotation: the three documented deploys, in every order CloudFormation may choose', () => {
  const deploys: Deploy[] = [
    { name: '1 add k2', before: start, after: added },
    { name: '2 make k2 active', before: added, after: switched },
    { name: '3 retire primary', before: switched, after: retired },
  ];
  // Before the first deploy, tokens are signed with primary.
  let valid = new Set([key(start, 'primary')]);
  const results = deploys.map((d) => {
    const r = check(d, valid);
    // Between deploys the docs wait: after 2, the access-token lifetime, so only the keys signing at the end of
    // a deploy can have signed tokens that are still valid when the next one starts.
    valid = r.signingAtEnd;
    return r;
  });

  for (const [i, d] of deploys.entries()) {
    it(`${d.name}: the key each signer uses is signable by its role, published first in its own JWKS and accepted by every verifier, in each of the states it passes through`, () => {
      const r = results[i];
      assert.ok(r);
      assert.ok(r.stateCount > 1, 'there is more than one order to check');
      assert.deepEqual(r.problems, []);
    });
  }

  it('signs with primary until deploy 2, with k2 after it', () => {
    assert.deepEqual([...(results[0]?.signingAtEnd ?? [])], [key(added, 'primary')]);
    assert.deepEqual([...(results[1]?.signingAtEnd ?? [])], [key(switched, 'k2')]);
    assert.deepEqual([...(results[2]?.signingAtEnd ?? [])], [key(retired, 'k2')]);
  });

  it('tokens signed with primary keep verifying until their lifetime has passed: retiring it right after the switch would refuse them', () => {
    // Deploy 3 started while primary-signed tokens are still valid (no wait after deploy 2):
    const early = check({ name: '3 without the wait', before: switched, after: retired }, new Set([key(switched, 'primary'), key(switched, 'k2')]));
    assert.ok(early.problems.some((p) => p.includes('does not accept tokens signed with') && p.includes(key(switched, 'primary'))), early.problems.join('\n'));
    // …which is why the documented procedure waits the access-token lifetime (plus leeway) before deploy 3.
    const docs = readFileSync(new URL('../../docs/DEPLOY.md', import.meta.url), 'utf8');
    const section = docs.slice(docs.indexOf('## Signing-key rotation'));
    assert.match(section, /\*\*Wait\*\* at least the access-token TTL \(`accessTokenTtlSeconds`/);
  });

  describe('emergency rotation (the key must stop being trusted now)', () => {
    // Old tokens are refused by design (docs: clients refresh); what must hold is that login and refresh keep
    // working. The new key is created in the same deploy that uses it, so the strict checks above ("existed
    // before", "old policies") cannot hold; the current policies must allow it wherever a signer uses it.
    const signersOk = (d: Deploy): string[] => {
      const problems: string[] = [];
      for (const state of states(d).states) {
        const view = new View(d, state);
        for (const [fn, role] of signerRoles(d.after)) {
          const k = view.env(fn).KMS_KEY_ID as string;
          if (!view.maySign(role, k, 'current')) problems.push(`${fn} may not sign with ${k}`);
          if (view.jwks(fn)[0] !== k) problems.push(`${fn}: kid of another key`);
        }
      }
      return problems;
    };

    it('in one deploy, a signer could still use the old key after its grant is gone: why the docs use two', () => {
      const problems = signersOk({ name: 'one step', before: start, after: synth(keysContext(['k2'], 'k2')) });
      assert.ok(problems.some((p) => p.includes(`may not sign with ${key(start, 'primary')}`)), problems.join('\n'));
    });

    it('in two deploys (add k2 as active, then retire primary) the signers can sign in every state of both', () => {
      const activeNew = synth(keysContext(['primary', 'k2'], 'k2'));
      assert.deepEqual(signersOk({ name: 'E1', before: start, after: activeNew }), []);
      assert.deepEqual(signersOk({ name: 'E2', before: activeNew, after: retired }), []);
    });
  });
});
