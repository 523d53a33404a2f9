/** Compact JWS assembly (RFC 7515) for ES256. The raw signature is r‖s, 64 bytes (RFC 7518 §3.4). */
import { b64url, b64urlJson } from './encoding.js';

export interface JwsHeader {
  alg: 'ES256';
  typ: string;
  kid: string;
}

/** `BASE64URL(header) + "." + BASE64URL(payload)`: the bytes that get signed. */
export const signingInput = (header: JwsHeader, claims: Record<string, unknown>): string =>
  `${b64urlJson(header)}.${b64urlJson(claims)}`;

export function assembleJws(input: string, p1363Signature: Uint8Array): string {
  if (p1363Signature.length !== 64) throw new Error(`ES256 signature must be 64 bytes, got ${p1363Signature.length}`);
  return `${input}.${b64url(p1363Signature)}`;
}

/**
 * Converts an ASN.1 DER ECDSA signature (what KMS returns) to the fixed-length r‖s form JOSE uses.
 * DER: SEQUENCE { INTEGER r, INTEGER s }, where each INTEGER is big-endian, minimal, and gets a leading
 * 0x00 when its top bit is set. For P-256 each of r and s is padded or trimmed to 32 bytes.
 */
export function derToJose(der: Uint8Array, size = 32): Uint8Array {
  let i = 0;
  const fail = (): never => {
    throw new Error('malformed DER ECDSA signature');
  };
  if (der[i++] !== 0x30) fail();
  let seqLen = der[i++] ?? fail();
  if (seqLen & 0x80) {
    const n = seqLen & 0x7f;
    if (n !== 1) fail();
    seqLen = der[i++] ?? fail();
  }
  if (i + seqLen !== der.length) fail();
  const out = new Uint8Array(size * 2);
  for (let part = 0; part < 2; part++) {
    if (der[i++] !== 0x02) fail();
    const len = der[i++] ?? fail();
    let start = i;
    let l = len;
    if (l === 0 || i + l > der.length) fail();
    while (l > size && der[start] === 0) {
      start++;
      l--;
    }
    if (l > size) fail();
    out.set(der.subarray(start, start + l), part * size + (size - l));
    i += len;
  }
  if (i !== der.length) fail();
  return out;
}
