/** P-256 public keys as JWKs, with RFC 7638 thumbprints as key ids. */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import type { PublicJwk } from './ports.js';

/**
 * RFC 7638 thumbprint of an EC key: SHA-256 over the required members in lexicographic order, with no
 * whitespace, base64url-encoded.
 */
export function jwkThumbprint(jwk: { crv: string; kty: string; x: string; y: string }): string {
  const canonical = `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}","y":"${jwk.y}"}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

/** The public JWK (with kid = thumbprint) of a P-256 key given as a KeyObject (public or private) or SPKI DER. */
export function publicJwkOf(key: KeyObject | Uint8Array): PublicJwk {
  const pub = key instanceof Uint8Array ? createPublicKey({ key: Buffer.from(key), format: 'der', type: 'spki' }) : createPublicKey(key);
  const exported = pub.export({ format: 'jwk' }) as { kty?: string; crv?: string; x?: string; y?: string };
  if (exported.kty !== 'EC' || exported.crv !== 'P-256' || !exported.x || !exported.y) {
    throw new Error('signing key must be an EC P-256 key');
  }
  const base = { kty: 'EC' as const, crv: 'P-256' as const, x: exported.x, y: exported.y };
  return { ...base, kid: jwkThumbprint(base), alg: 'ES256', use: 'sig' };
}
