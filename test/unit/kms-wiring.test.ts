/**
 * The cloud wiring: SIGNER=kms builds a KmsSigner from KMS_KEY_ID and the published JWKS_JSON (no
 * GetPublicKey at cold start), and its tokens pass our own verifier, as the deployed authorizer will run it.
 * KMS answers come from a real P-256 key.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { afterAll, test } from '@jest/globals';
import { GetPublicKeyCommand, KMSClient, SignCommand, type SignCommandInput } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { AccessTokenIssuer } from '../../lambdas/core/access-token.js';
import { ManualClock } from '../../lambdas/core/clock.js';
import { publicJwkOf } from '../../lambdas/core/jwk.js';
import { signerFromEnv, verifierFromEnv } from '../../lambdas/wiring.js';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = publicJwkOf(privateKey);
const kms = mockClient(KMSClient); // every KMSClient instance, including the one the wiring creates
afterAll(() => kms.restore());

kms.on(SignCommand).callsFake((input: SignCommandInput) => ({
  KeyId: input.KeyId,
  SigningAlgorithm: 'ECDSA_SHA_256',
  Signature: cryptoSign('sha256', Buffer.from(input.Message as Uint8Array), { key: privateKey, dsaEncoding: 'der' }),
}));

const env = {
  SIGNER: 'kms',
  KMS_KEY_ID: 'arn:aws:kms:eu-west-1:111122223333:key/abc',
  JWKS_JSON: JSON.stringify({ keys: [jwk] }),
  TOKEN_ISSUER: 'https://auth.example',
  TOKEN_AUDIENCE: 'tokengate-api',
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
};

test('SIGNER=kms signs through KMS with the published kid; the verifier built from the same env accepts it', async () => {
  const clock = new ManualClock(Date.now());
  const signer = await signerFromEnv(env);
  const issuer = new AccessTokenIssuer(signer, { issuer: env.TOKEN_ISSUER, audience: env.TOKEN_AUDIENCE, accessTokenTtlSeconds: 900 }, clock);
  const { token, claims } = await issuer.issue({ sub: 'alice', sid: 's1', permissions: ['orders:read'] });
  assert.deepEqual(verifierFromEnv(env, clock).verify(token), claims);
  assert.equal(kms.commandCalls(GetPublicKeyCommand).length, 0, 'no GetPublicKey when JWKS_JSON is given');
  const [call] = kms.commandCalls(SignCommand);
  assert.equal(call?.args[0].input.KeyId, env.KMS_KEY_ID);
  assert.equal(call?.args[0].input.SigningAlgorithm, 'ECDSA_SHA_256');
});

test('an unknown SIGNER and a missing KMS_KEY_ID fail at init', async () => {
  await assert.rejects(signerFromEnv({ ...env, SIGNER: 'hsm' }), /SIGNER/);
  await assert.rejects(signerFromEnv({ ...env, KMS_KEY_ID: '' }), /KMS_KEY_ID/);
});
