/**
 * KmsSigner against a mocked KMS whose answers come from a real P-256 key: Sign returns a genuine DER ECDSA
 * signature over the message, GetPublicKey the genuine SPKI DER. The produced JWTs must verify with
 * node:crypto and with aws-jwt-verify, exactly as the authorizer will verify them.
 */
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { beforeEach, describe, it } from '@jest/globals';
import { GetPublicKeyCommand, KMSClient, KMSServiceException, SignCommand, type SignCommandInput } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { JwtVerifier } from 'aws-jwt-verify';
import type { Jwks as VerifierJwks } from 'aws-jwt-verify/jwk';
import { KmsSigner, publicJwkFromKms } from '../../lambdas/adapters/kms-signer.js';
import { publicJwkOf } from '../../lambdas/core/jwk.js';
import { ConfigError, DependencyUnavailableError } from '../../lambdas/core/errors.js';
import type { Jwks } from '../../lambdas/core/ports.js';

const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555';
const issuer = 'https://auth.tokengate.example';
const audience = 'tokengate-api';

function p256(): { privateKey: KeyObject; spki: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, spki: publicKey.export({ format: 'der', type: 'spki' }) };
}

const active = p256();
const retired = p256();

const client = new KMSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
const kms = mockClient(client);

/** KMS, faithfully: ECDSA over SHA-256 of the RAW message, DER-encoded. */
function fakeKms(): void {
  kms.reset();
  kms.on(SignCommand).callsFake((input: SignCommandInput) => {
    assert.equal(input.MessageType, 'RAW');
    return {
      KeyId: KEY_ARN,
      SigningAlgorithm: 'ECDSA_SHA_256',
      Signature: cryptoSign('sha256', Buffer.from(input.Message as Uint8Array), { key: active.privateKey, dsaEncoding: 'der' }),
    };
  });
  kms.on(GetPublicKeyCommand, { KeyId: KEY_ARN }).resolves({
    KeyId: KEY_ARN,
    PublicKey: active.spki,
    KeySpec: 'ECC_NIST_P256',
    KeyUsage: 'SIGN_VERIFY',
    SigningAlgorithms: ['ECDSA_SHA_256'],
  });
}

function claims(now = Math.floor(Date.now() / 1000)) {
  return { iss: issuer, sub: 'alice', aud: audience, iat: now, exp: now + 900, jti: 'j1', scope: 'orders:read', sid: 's1' };
}

/** The same JSON as aws-jwt-verify types it (a JSON object rather than our closed interface). */
const forVerifier = (jwks: Jwks): VerifierJwks => JSON.parse(JSON.stringify(jwks)) as VerifierJwks;

function decode(jwt: string) {
  const [h, p, s] = jwt.split('.') as [string, string, string];
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>,
    input: `${h}.${p}`,
    signature: Buffer.from(s, 'base64url'),
  };
}

/** RFC 7638 thumbprint computed here from scratch, not with the code under test. */
function thumbprint(spki: Buffer): string {
  const jwk = createPublicKey({ key: spki, format: 'der', type: 'spki' }).export({ format: 'jwk' }) as Record<string, string>;
  return createHash('sha256').update(`{"crv":"P-256","kty":"EC","x":"${jwk.x}","y":"${jwk.y}"}`).digest('base64url');
}

describe('KmsSigner', () => {
  beforeEach(fakeKms);

  it('signs with KMS (RAW, ECDSA_SHA_256) and the JWT verifies with node:crypto and aws-jwt-verify', async () => {
    // Prepare
    const signer = new KmsSigner({ keyId: KEY_ARN, client });
    // Act
    const jwt = await signer.sign({ typ: 'at+jwt' }, claims());
    // Assess
    const { header, payload, input, signature } = decode(jwt);
    assert.deepEqual(header, { alg: 'ES256', typ: 'at+jwt', kid: thumbprint(active.spki) });
    assert.equal(payload.sub, 'alice');
    assert.equal(signature.length, 64);
    assert.ok(cryptoVerify('sha256', Buffer.from(input), { key: active.spki, format: 'der', type: 'spki', dsaEncoding: 'ieee-p1363' }, signature));

    const signCalls = kms.commandCalls(SignCommand);
    assert.equal(signCalls.length, 1);
    assert.deepEqual(signCalls[0]?.args[0].input, {
      KeyId: KEY_ARN,
      Message: Buffer.from(input, 'utf8'),
      MessageType: 'RAW',
      SigningAlgorithm: 'ECDSA_SHA_256',
    });

    const verifier = JwtVerifier.create({ issuer, audience, jwksUri: 'https://x/jwks' });
    verifier.cacheJwks(forVerifier(await signer.publicJwks()));
    const verified = verifier.verifySync(jwt);
    assert.equal(verified.sub, 'alice');
  });

  it('without a key set, calls GetPublicKey once and caches the key (kid = RFC 7638 thumbprint)', async () => {
    const signer = new KmsSigner({ keyId: KEY_ARN, client, previous: [publicJwkOf(retired.spki)] });
    await Promise.all([signer.sign({ typ: 'at+jwt' }, claims()), signer.sign({ typ: 'at+jwt' }, claims())]);
    await signer.sign({ typ: 'at+jwt' }, claims());
    const jwks = await signer.publicJwks();

    assert.equal(kms.commandCalls(GetPublicKeyCommand).length, 1);
    assert.deepEqual(kms.commandCalls(GetPublicKeyCommand)[0]?.args[0].input, { KeyId: KEY_ARN });
    assert.deepEqual(jwks.keys.map((k) => k.kid), [thumbprint(active.spki), thumbprint(retired.spki)]);
    for (const k of jwks.keys) {
      assert.deepEqual(Object.keys(k).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    }
  });

  it('with the published key set (JWKS_JSON), never calls GetPublicKey', async () => {
    const published: Jwks = { keys: [publicJwkOf(active.spki), publicJwkOf(retired.spki)] };
    const signer = KmsSigner.fromEnv({ KMS_KEY_ID: KEY_ARN, JWKS_JSON: JSON.stringify(published) }, client);

    const jwt = await signer.sign({ typ: 'at+jwt' }, claims());

    assert.equal(kms.commandCalls(GetPublicKeyCommand).length, 0);
    assert.equal(decode(jwt).header.kid, published.keys[0]?.kid);
    assert.deepEqual(await signer.publicJwks(), published);
    // A token signed by the retired key still verifies against the published set (rotation).
    const verifier = JwtVerifier.create({ issuer, audience, jwksUri: 'https://x/jwks' });
    verifier.cacheJwks(forVerifier(published));
    verifier.verifySync(jwt);
  });

  it('fromEnv fails at cold start without KMS_KEY_ID or with a bad JWKS_JSON', () => {
    assert.throws(() => KmsSigner.fromEnv({}, client), ConfigError);
    assert.throws(() => KmsSigner.fromEnv({ KMS_KEY_ID: KEY_ARN, JWKS_JSON: '{"keys":[]}' }, client), ConfigError);
    assert.throws(
      () => KmsSigner.fromEnv({ KMS_KEY_ID: KEY_ARN, JWKS_JSON: JSON.stringify({ keys: [{ ...publicJwkOf(active.spki), d: 'secret' }] }) }, client),
      ConfigError,
    );
  });

  it('turns a KMS Sign failure into DependencyUnavailableError with the cause', async () => {
    const failure = new KMSServiceException({ name: 'KMSInternalException', $fault: 'server', $metadata: {}, message: 'boom' });
    kms.on(SignCommand).rejects(failure);
    const signer = new KmsSigner({ keyId: KEY_ARN, client, jwks: { keys: [publicJwkOf(active.spki)] } });

    await assert.rejects(signer.sign({ typ: 'at+jwt' }, claims()), (err: unknown) => {
      assert.ok(err instanceof DependencyUnavailableError);
      assert.equal(err.code, 'temporarily_unavailable');
      assert.equal(err.cause, failure);
      return true;
    });
  });

  it('turns a GetPublicKey failure into DependencyUnavailableError and retries on the next call', async () => {
    const failure = new Error('socket hang up');
    kms.on(GetPublicKeyCommand).rejectsOnce(failure);
    const signer = new KmsSigner({ keyId: KEY_ARN, client });

    await assert.rejects(signer.publicJwks(), (err: unknown) => err instanceof DependencyUnavailableError && err.cause === failure);
    kms.on(GetPublicKeyCommand).resolves({ PublicKey: active.spki, KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    assert.equal((await signer.publicJwks()).keys[0]?.kid, thumbprint(active.spki));
  });

  it('rejects a malformed or missing signature from KMS', async () => {
    const signer = new KmsSigner({ keyId: KEY_ARN, client, jwks: { keys: [publicJwkOf(active.spki)] } });
    kms.on(SignCommand).resolves({ Signature: Buffer.from([0x30, 0x00]) });
    await assert.rejects(signer.sign({ typ: 'at+jwt' }, claims()), DependencyUnavailableError);
    kms.on(SignCommand).resolves({});
    await assert.rejects(signer.sign({ typ: 'at+jwt' }, claims()), DependencyUnavailableError);
  });

  it('refuses a key that is not an ECC_NIST_P256 signing key', () => {
    assert.throws(() => publicJwkFromKms({ PublicKey: active.spki, KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' }, KEY_ARN), ConfigError);
    assert.throws(() => publicJwkFromKms({ PublicKey: active.spki, KeySpec: 'ECC_NIST_P256', KeyUsage: 'ENCRYPT_DECRYPT' }, KEY_ARN), ConfigError);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'der', type: 'spki' });
    assert.throws(() => publicJwkFromKms({ PublicKey: rsa, KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }, KEY_ARN), ConfigError);
  });
});
