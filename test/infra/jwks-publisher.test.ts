/**
 * The JWKS publisher custom resource, against a mocked KMS whose GetPublicKey answers are real P-256 SPKI keys:
 * Create/Update return the public JWKS (active key first) as the `Jwks` attribute; Delete touches nothing.
 * Right after CreateKey (and a fresh IAM grant) KMS may answer NotFound / KMSInvalidState / AccessDenied for a
 * while: those are retried with backoff for about 90 s on an injected clock (no test waits); other errors fail
 * at once, and every failure names the key, the AWS error and the publisher's own log group.
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { beforeEach, describe, it } from '@jest/globals';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { GetPublicKeyCommand, KMSClient, KMSInvalidStateException, KMSServiceException, NotFoundException } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { jwksSetting } from '../../lambdas/core/config.js';
import { ManualClock } from '../../lambdas/core/clock.js';
import { JwksPublicationError, makeHandler, PHYSICAL_RESOURCE_ID, type PublisherOptions } from '../../lambdas/jwks-publisher/handler.js';

const ARN_NEW = 'arn:aws:kms:eu-west-1:111122223333:key/new';
const ARN_OLD = 'arn:aws:kms:eu-west-1:111122223333:key/old';

function p256Spki() {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' }) as { x: string; y: string };
  const kid = createHash('sha256').update(`{"crv":"P-256","kty":"EC","x":"${jwk.x}","y":"${jwk.y}"}`).digest('base64url');
  return { spki: publicKey.export({ format: 'der', type: 'spki' }), kid, x: jwk.x, y: jwk.y };
}
const keyNew = p256Spki();
const keyOld = p256Spki();

const client = new KMSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
const kms = mockClient(client);
const handler = makeHandler(() => client);

/** A handler whose sleeps move a manual clock (and are recorded) instead of waiting. */
function withClock(extra: PublisherOptions = {}) {
  const clock = new ManualClock();
  const sleeps: number[] = [];
  const retries: { keyId: string; error: string; attempt: number }[] = [];
  const h = makeHandler({
    client: () => client,
    clock,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.advance(ms);
    },
    logGroupName: '/tokengate/Test-SigningPublisherLogs',
    onRetry: ({ keyId, error, attempt }) => retries.push({ keyId, error, attempt }),
    ...extra,
  });
  return { h, clock, sleeps, retries };
}
const meta = { $metadata: {} };
/** KMS has no modelled AccessDeniedException: the SDK raises its service exception with that name. */
const accessDenied = (message: string) => new KMSServiceException({ name: 'AccessDeniedException', $fault: 'client', message, ...meta });
const notFound = () => new NotFoundException({ message: `Key '${ARN_NEW}' does not exist`, ...meta });

const base = {
  ServiceToken: 'arn:aws:lambda:eu-west-1:111122223333:function:provider',
  ResponseURL: 'https://cloudformation-custom-resource-response.example/x',
  StackId: 'arn:aws:cloudformation:eu-west-1:111122223333:stack/Test/1',
  RequestId: 'r1',
  LogicalResourceId: 'SigningJwks',
  ResourceType: 'Custom::TokengateJwks',
};
const create = (keyIds: unknown): CloudFormationCustomResourceEvent => ({
  ...base,
  RequestType: 'Create',
  ResourceProperties: { ServiceToken: base.ServiceToken, KeyIds: keyIds },
});

describe('JWKS publisher', () => {
  beforeEach(() => {
    kms.reset();
    const answer = (k: typeof keyNew) => ({ PublicKey: k.spki, KeySpec: 'ECC_NIST_P256' as const, KeyUsage: 'SIGN_VERIFY' as const, SigningAlgorithms: ['ECDSA_SHA_256' as const] });
    kms.on(GetPublicKeyCommand, { KeyId: ARN_NEW }).resolves(answer(keyNew));
    kms.on(GetPublicKeyCommand, { KeyId: ARN_OLD }).resolves(answer(keyOld));
  });

  it('on Create returns the public JWKS, active key first, that the functions accept as JWKS_JSON', async () => {
    const out = await handler(create([ARN_NEW, ARN_OLD]));

    assert.equal(out.PhysicalResourceId, PHYSICAL_RESOURCE_ID);
    const jwks = JSON.parse(out.Data?.Jwks ?? '') as { keys: Record<string, string>[] };
    assert.deepEqual(jwks.keys, [
      { kty: 'EC', crv: 'P-256', x: keyNew.x, y: keyNew.y, kid: keyNew.kid, alg: 'ES256', use: 'sig' },
      { kty: 'EC', crv: 'P-256', x: keyOld.x, y: keyOld.y, kid: keyOld.kid, alg: 'ES256', use: 'sig' },
    ]);
    // Exactly what lambdas/core/config.ts accepts at cold start.
    assert.deepEqual(jwksSetting({ JWKS_JSON: out.Data?.Jwks }), jwks);
    assert.deepEqual(kms.commandCalls(GetPublicKeyCommand).map((c) => c.args[0].input), [{ KeyId: ARN_NEW }, { KeyId: ARN_OLD }]);
    assert.ok((out.Data?.Jwks?.length ?? 0) < 4096 / 4, 'stays far below the 4 KB custom-resource response limit');
  });

  it('on Update (key list changed) recomputes the set and keeps the physical id', async () => {
    const out = await handler({
      ...base,
      RequestType: 'Update',
      PhysicalResourceId: PHYSICAL_RESOURCE_ID,
      ResourceProperties: { ServiceToken: base.ServiceToken, KeyIds: [ARN_OLD] },
      OldResourceProperties: { ServiceToken: base.ServiceToken, KeyIds: [ARN_NEW, ARN_OLD] },
    });
    assert.equal(out.PhysicalResourceId, PHYSICAL_RESOURCE_ID);
    assert.deepEqual((JSON.parse(out.Data?.Jwks ?? '') as { keys: { kid: string }[] }).keys.map((k) => k.kid), [keyOld.kid]);
  });

  it('on Delete calls nothing (the keys are retained, the JWKS is only data)', async () => {
    const out = await handler({
      ...base,
      RequestType: 'Delete',
      PhysicalResourceId: PHYSICAL_RESOURCE_ID,
      ResourceProperties: { ServiceToken: base.ServiceToken, KeyIds: [ARN_NEW] },
    });
    assert.deepEqual(out, { PhysicalResourceId: PHYSICAL_RESOURCE_ID });
    assert.equal(kms.calls().length, 0);
  });

  it('fails at once on an error that waiting does not fix, naming the key, the cause and its log group', async () => {
    kms.on(GetPublicKeyCommand, { KeyId: ARN_OLD }).rejects(new Error('socket hang up'));
    const { h, sleeps } = withClock();
    await assert.rejects(h(create([ARN_NEW, ARN_OLD])), (err: unknown) => {
      assert.ok(err instanceof JwksPublicationError);
      assert.equal(
        err.message,
        `JWKS publication failed: GetPublicKey for ${ARN_OLD}: Error: socket hang up (1 attempt; not retried) Publisher logs: /tokengate/Test-SigningPublisherLogs`,
      );
      return true;
    });
    assert.deepEqual(sleeps, []);
    await assert.rejects(handler(create([])), /KeyIds must be a non-empty list/);
    await assert.rejects(handler(create('arn')), /KeyIds must be a non-empty list/);
  });

  it('retries NotFound right after CreateKey: NotFound twice, then the key', async () => {
    kms.on(GetPublicKeyCommand, { KeyId: ARN_NEW })
      .rejectsOnce(notFound())
      .rejectsOnce(notFound())
      .resolves({ PublicKey: keyNew.spki, KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: ['ECDSA_SHA_256'] });
    const { h, sleeps, retries } = withClock();

    const out = await h(create([ARN_NEW, ARN_OLD]));

    const jwks = JSON.parse(out.Data?.Jwks ?? '') as { keys: { kid: string }[] };
    assert.deepEqual(jwks.keys.map((k) => k.kid), [keyNew.kid, keyOld.kid]);
    assert.deepEqual(jwksSetting({ JWKS_JSON: out.Data?.Jwks }), jwks);
    assert.deepEqual(sleeps, [1000, 2000], 'exponential backoff, on the injected clock');
    assert.deepEqual(retries, [
      { keyId: ARN_NEW, error: 'NotFoundException', attempt: 1 },
      { keyId: ARN_NEW, error: 'NotFoundException', attempt: 2 },
    ]);
    assert.equal(kms.commandCalls(GetPublicKeyCommand, { KeyId: ARN_NEW }).length, 3);
    assert.equal(kms.commandCalls(GetPublicKeyCommand, { KeyId: ARN_OLD }).length, 1);
  });

  it('retries AccessDenied (a grant not yet visible) and KMSInvalidState (key still being created) too', async () => {
    kms.on(GetPublicKeyCommand, { KeyId: ARN_OLD })
      .rejectsOnce(accessDenied('not authorized to perform kms:GetPublicKey'))
      .rejectsOnce(new KMSInvalidStateException({ message: 'key is pending creation', ...meta }))
      .resolves({ PublicKey: keyOld.spki, KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: ['ECDSA_SHA_256'] });
    const { h, retries } = withClock();
    const out = await h(create([ARN_NEW, ARN_OLD]));
    assert.equal((JSON.parse(out.Data?.Jwks ?? '') as { keys: unknown[] }).keys.length, 2);
    assert.deepEqual(retries.map((r) => r.error), ['AccessDeniedException', 'KMSInvalidStateException']);
  });

  it('gives up after about 90 s, with the cause and how long it tried in the failure CloudFormation shows', async () => {
    kms.on(GetPublicKeyCommand, { KeyId: ARN_NEW }).rejects(notFound());
    const { h, clock, sleeps } = withClock();
    const started = clock.now();
    await assert.rejects(h(create([ARN_NEW])), (err: unknown) => {
      assert.ok(err instanceof JwksPublicationError);
      assert.match(err.message, new RegExp(`^JWKS publication failed: GetPublicKey for ${ARN_NEW}: NotFoundException: Key '${ARN_NEW}' does not exist \\(9 attempts over 79 s\\)`));
      assert.match(err.message, /Publisher logs: \/tokengate\/Test-SigningPublisherLogs$/);
      assert.ok(err.cause instanceof Error, 'the cause is kept');
      return true;
    });
    assert.deepEqual(sleeps, [1000, 2000, 4000, 8000, 16000, 16000, 16000, 16000]);
    const waited = clock.now() - started;
    assert.ok(waited <= 90_000 && waited >= 60_000, `waited ${waited} ms`);
  });

  it('says what to check when AccessDenied outlasts the retries', async () => {
    kms.on(GetPublicKeyCommand, { KeyId: ARN_NEW }).rejects(accessDenied('not authorized'));
    const { h } = withClock({ retryForMs: 5000 });
    await assert.rejects(h(create([ARN_NEW])), /AccessDeniedException: not authorized \(3 attempts over 3 s\)\. Check that the publisher role has kms:GetPublicKey/);
  });
});
