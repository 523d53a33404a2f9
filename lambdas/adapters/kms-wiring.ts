/**
 * Builds the KMS signer from the environment (KMS_KEY_ID = the active key; JWKS_JSON = the published keys,
 * active first, so no GetPublicKey call is needed at cold start). A separate module so that local mode and
 * the bundles that never sign do not load the KMS client.
 */
import type { Env } from '../core/config.js';
import { requireString } from '../core/config.js';
import type { PublicJwk, Signer } from '../core/ports.js';
import { KmsSigner } from './kms-signer.js';

export async function signerFromKmsEnv(env: Env, published: readonly PublicJwk[]): Promise<Signer> {
  const keyId = requireString(env, 'KMS_KEY_ID');
  return published.length > 0 ? new KmsSigner({ keyId, jwks: { keys: [...published] } }) : new KmsSigner({ keyId });
}
