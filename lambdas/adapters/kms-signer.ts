/**
 * Signer backed by an asymmetric KMS key (ECC_NIST_P256, SIGN_VERIFY): the private key never leaves KMS.
 * The token code above it is the same as in local mode (LocalKeySigner); only this adapter differs.
 *
 * Cold path: the stack publishes the public key set as JWKS_JSON (active key first), so the signer knows its
 * `kid` without calling KMS at all. Only when no key set is given does it ask KMS (GetPublicKey, once).
 * Hot path: one `kms:Sign` per token.
 */
import {
  GetPublicKeyCommand,
  KMSClient,
  SignCommand,
  type GetPublicKeyCommandOutput,
} from '@aws-sdk/client-kms';
import { jwksSetting, optionalString, requireString, type Env } from '../core/config.js';
import { ConfigError, DependencyUnavailableError } from '../core/errors.js';
import { publicJwkOf } from '../core/jwk.js';
import { assembleJws, derToJose, signingInput } from '../core/jws.js';
import type { Jwks, PublicJwk, Signer } from '../core/ports.js';

/** The only key spec and algorithm we accept: ES256 (RFC 7518 §3.4). */
export const KMS_KEY_SPEC = 'ECC_NIST_P256';
export const KMS_SIGNING_ALGORITHM = 'ECDSA_SHA_256';

let defaultClient: KMSClient | undefined;

/** One KMS client per cold start (region and credentials come from the Lambda environment). */
export function defaultKmsClient(): KMSClient {
  defaultClient ??= new KMSClient({});
  return defaultClient;
}

export interface KmsSignerOptions {
  /** The active key: ARN (preferred), key id or alias. Needs `kms:Sign`. */
  keyId: string;
  /**
   * The public key set, active key first, exactly as the stack publishes it (env JWKS_JSON). When given, the
   * signer never calls GetPublicKey: `kid` is `jwks.keys[0].kid`.
   * @default undefined — the active key is fetched once with GetPublicKey (needs `kms:GetPublicKey`)
   */
  jwks?: Jwks;
  /**
   * Only used without `jwks`: public keys still published after the active one (rotation).
   * @default []
   */
  previous?: readonly PublicJwk[];
  /** @default one KMSClient per cold start (`defaultKmsClient()`) */
  client?: KMSClient;
}

export class KmsSigner implements Signer {
  private readonly keyId: string;
  private readonly client: KMSClient;
  private readonly previous: readonly PublicJwk[];
  /** Settled once known; a failed lookup is forgotten so the next call retries. */
  private active: Promise<PublicJwk> | undefined;

  constructor(options: KmsSignerOptions) {
    if (options.keyId.trim() === '') throw new ConfigError('KmsSigner needs a keyId');
    this.keyId = options.keyId;
    this.client = options.client ?? defaultKmsClient();
    if (options.jwks) {
      const [first, ...rest] = options.jwks.keys;
      if (!first) throw new ConfigError('KmsSigner: the key set is empty');
      this.active = Promise.resolve(first);
      this.previous = rest;
    } else {
      this.previous = options.previous ?? [];
    }
  }

  /**
   * Reads KMS_KEY_ID (required) and JWKS_JSON (optional; validated by `jwksSetting`). Throws ConfigError at
   * cold start when they are missing or malformed.
   */
  static fromEnv(env: Env = process.env, client?: KMSClient): KmsSigner {
    const keyId = requireString(env, 'KMS_KEY_ID');
    const jwks = optionalString(env, 'JWKS_JSON') === undefined ? undefined : jwksSetting(env, 'JWKS_JSON');
    return new KmsSigner({ keyId, ...(jwks ? { jwks } : {}), ...(client ? { client } : {}) });
  }

  async sign(header: { typ: string }, claims: Record<string, unknown>): Promise<string> {
    const { kid } = await this.activeKey();
    const input = signingInput({ alg: 'ES256', typ: header.typ, kid }, claims);
    let der: Uint8Array | undefined;
    try {
      const out = await this.client.send(
        new SignCommand({
          KeyId: this.keyId,
          Message: Buffer.from(input, 'utf8'),
          // RAW: KMS hashes the message with SHA-256 itself. A JWS signing input is far below the 4096-byte limit.
          MessageType: 'RAW',
          SigningAlgorithm: KMS_SIGNING_ALGORITHM,
        }),
      );
      der = out.Signature;
    } catch (cause) {
      throw new DependencyUnavailableError('KMS Sign failed', { cause });
    }
    if (!der) throw new DependencyUnavailableError('KMS Sign returned no signature');
    let p1363: Uint8Array;
    try {
      p1363 = derToJose(der);
    } catch (cause) {
      throw new DependencyUnavailableError('KMS Sign returned a malformed signature', { cause });
    }
    return assembleJws(input, p1363);
  }

  async publicJwks(): Promise<Jwks> {
    const active = await this.activeKey();
    return { keys: [active, ...this.previous.filter((k) => k.kid !== active.kid)] };
  }

  private activeKey(): Promise<PublicJwk> {
    this.active ??= fetchPublicJwk(this.client, this.keyId).catch((err: unknown) => {
      this.active = undefined;
      throw err;
    });
    return this.active;
  }
}

/**
 * GetPublicKey for `keyId`, checked to be a P-256 signing key, as a public JWK with its RFC 7638 kid.
 * KMS failures become DependencyUnavailableError; a key of the wrong kind is a ConfigError.
 */
export async function fetchPublicJwk(client: KMSClient, keyId: string): Promise<PublicJwk> {
  let out: GetPublicKeyCommandOutput;
  try {
    out = await client.send(new GetPublicKeyCommand({ KeyId: keyId }));
  } catch (cause) {
    throw new DependencyUnavailableError(`KMS GetPublicKey failed for ${keyId}`, { cause });
  }
  return publicJwkFromKms(out, keyId);
}

/** Converts a GetPublicKey answer (SPKI DER) to a public JWK after checking key spec and usage. */
export function publicJwkFromKms(
  out: Pick<GetPublicKeyCommandOutput, 'PublicKey' | 'KeySpec' | 'KeyUsage' | 'SigningAlgorithms'>,
  keyId: string,
): PublicJwk {
  if (out.KeySpec !== KMS_KEY_SPEC || out.KeyUsage !== 'SIGN_VERIFY') {
    throw new ConfigError(
      `KMS key ${keyId} must be ${KMS_KEY_SPEC} / SIGN_VERIFY, got ${out.KeySpec ?? '?'} / ${out.KeyUsage ?? '?'}`,
    );
  }
  if (out.SigningAlgorithms && !out.SigningAlgorithms.includes(KMS_SIGNING_ALGORITHM)) {
    throw new ConfigError(`KMS key ${keyId} does not support ${KMS_SIGNING_ALGORITHM}`);
  }
  if (!out.PublicKey) throw new DependencyUnavailableError(`KMS GetPublicKey returned no key for ${keyId}`);
  try {
    return publicJwkOf(out.PublicKey);
  } catch (cause) {
    throw new ConfigError(`KMS key ${keyId} is not a valid P-256 public key`, { cause });
  }
}
