/**
 * The JWKS publisher custom resource, against a mocked KMS whose GetPublicKey answers are real P-256 SPKI keys:
 * Create/Update return the public JWKS (active key first) as the `Jwks` attribute; Delete touches nothing.
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { beforeEach, describe, it } from '@jest/globals';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { GetPublicKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { jwksSetting } from '../../lambdas/core/config.js';
import { DependencyUnavailableError } from '../../lambdas/core/errors.js';
import { makeHandler, PHYSICAL_RESOURCE_ID } from '../../lambdas/jwks-publisher/handler.js';

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

  it('fails the deployment when KMS does not answer, or the key list is empty', async () => {
    kms.on(GetPublicKeyCommand, { KeyId: ARN_OLD }).rejects(new Error('AccessDeniedException'));
    await assert.rejects(handler(create([ARN_NEW, ARN_OLD])), DependencyUnavailableError);
    await assert.rejects(handler(create([])), /KeyIds must be a non-empty list/);
    await assert.rejects(handler(create('arn')), /KeyIds must be a non-empty list/);
  });
});
