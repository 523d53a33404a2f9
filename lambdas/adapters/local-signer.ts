/**
 * Signer backed by a PKCS#8 P-256 private key in a file: local mode (npm start) and tests.
 * In the cloud the KMS signer takes its place; the token code above it is the same.
 */
import { createPrivateKey, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { publicJwkOf } from '../core/jwk.js';
import { assembleJws, signingInput } from '../core/jws.js';
import type { Jwks, PublicJwk, Signer } from '../core/ports.js';

export class LocalKeySigner implements Signer {
  private readonly active: PublicJwk;

  /**
   * @param privateKey the active key
   * @param previous public keys still published so tokens they signed keep verifying (rotation)
   */
  constructor(
    private readonly privateKey: KeyObject,
    private readonly previous: readonly PublicJwk[] = [],
  ) {
    if (privateKey.type !== 'private') throw new Error('LocalKeySigner needs a private key');
    this.active = publicJwkOf(privateKey);
  }

  static fromPem(pem: string | Buffer, previous: readonly PublicJwk[] = []): LocalKeySigner {
    return new LocalKeySigner(createPrivateKey({ key: pem, format: 'pem' }), previous);
  }

  static fromFile(path: string, previous: readonly PublicJwk[] = []): LocalKeySigner {
    return LocalKeySigner.fromPem(readFileSync(path), previous);
  }

  get kid(): string {
    return this.active.kid;
  }

  async sign(header: { typ: string }, claims: Record<string, unknown>): Promise<string> {
    const input = signingInput({ alg: 'ES256', typ: header.typ, kid: this.active.kid }, claims);
    const sig = cryptoSign('sha256', Buffer.from(input), { key: this.privateKey, dsaEncoding: 'ieee-p1363' });
    return assembleJws(input, sig);
  }

  async publicJwks(): Promise<Jwks> {
    return { keys: [this.active, ...this.previous.filter((k) => k.kid !== this.active.kid)] };
  }
}

/** A fresh P-256 key as PKCS#8 PEM. */
export function generateP256Pem(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/** Returns the key file at `path`, creating it (mode 0600) with a new P-256 key if it does not exist. */
export function ensureKeyFile(path: string): string {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, generateP256Pem(), { mode: 0o600, flag: 'wx' });
  }
  return path;
}
