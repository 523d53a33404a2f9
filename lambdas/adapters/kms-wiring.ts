/** Builds the KMS signer from the environment (KMS_KEY_ID). Kept apart so local bundles never load KMS. */
import type { Env } from '../core/config.js';
import type { PublicJwk, Signer } from '../core/ports.js';
import { ConfigError } from '../core/errors.js';

export async function signerFromKmsEnv(_env: Env, _published: readonly PublicJwk[]): Promise<Signer> {
  throw new ConfigError('KMS signer not wired yet');
}
