/**
 * derToJose: the DER ECDSA signatures KMS returns must become the 64-byte r‖s JOSE wants, for every shape DER
 * can take — r or s with the top bit set (DER adds a 0x00), and r or s shorter than 32 bytes (DER drops the
 * leading zero bytes, JOSE pads them back).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { describe, it } from '@jest/globals';
import { derToJose } from '../../lambdas/core/jws.js';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });

/** r and s as DER wrote them (with any 0x00 sign byte), parsed independently of the code under test. */
function derIntegers(der: Buffer): [Buffer, Buffer] {
  assert.equal(der[0], 0x30);
  let i = 2;
  const read = (): Buffer => {
    assert.equal(der[i], 0x02);
    const len = der[i + 1] as number;
    const value = der.subarray(i + 2, i + 2 + len);
    i += 2 + len;
    return value;
  };
  return [read(), read()];
}

function roundTrip(message: Buffer, der: Buffer): Uint8Array {
  const jose = derToJose(der);
  assert.equal(jose.length, 64);
  assert.ok(
    verify('sha256', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, jose),
    `converted signature does not verify (DER ${der.toString('hex')})`,
  );
  // Against Node's own P1363 encoding of the same signature: same r and s, left-padded to 32 bytes.
  const [r, s] = derIntegers(der);
  const pad = (x: Buffer) => Buffer.concat([Buffer.alloc(32), x]).subarray(-32);
  assert.deepEqual(Buffer.from(jose), Buffer.concat([pad(r), pad(s)]));
  return jose;
}

describe('derToJose', () => {
  it('round-trips many random signatures', () => {
    for (let n = 0; n < 500; n++) {
      const message = randomBytes(1 + (n % 200));
      roundTrip(message, sign('sha256', message, { key: privateKey, dsaEncoding: 'der' }));
    }
  });

  it('handles every DER shape: 0x00 sign byte (high bit) and short (leading-zero) integers, for r and for s', () => {
    const seen = { rHigh: false, sHigh: false, rShort: false, sShort: false };
    // A short integer shows up about once in 256 signatures; 50 000 tries make a miss practically impossible.
    for (let n = 0; n < 50_000 && !Object.values(seen).every(Boolean); n++) {
      const message = randomBytes(32);
      const der = sign('sha256', message, { key: privateKey, dsaEncoding: 'der' });
      const [r, s] = derIntegers(der);
      const interesting = {
        rHigh: r.length === 33 && r[0] === 0,
        sHigh: s.length === 33 && s[0] === 0,
        rShort: r.length < 32,
        sShort: s.length < 32,
      };
      if (Object.values(interesting).some(Boolean)) {
        const jose = roundTrip(message, der);
        if (interesting.rHigh) assert.ok((jose[0] as number) >= 0x80);
        if (interesting.sHigh) assert.ok((jose[32] as number) >= 0x80);
        if (interesting.rShort) assert.equal(jose[0], 0);
        if (interesting.sShort) assert.equal(jose[32], 0);
      }
      for (const k of Object.keys(seen) as (keyof typeof seen)[]) seen[k] ||= interesting[k];
    }
    assert.deepEqual(seen, { rHigh: true, sHigh: true, rShort: true, sShort: true });
  });

  it('handles hand-made minimal integers (r = 1, s = 0x80)', () => {
    const der = Buffer.from([0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x02, 0x00, 0x80]);
    const jose = derToJose(der);
    const expected = Buffer.alloc(64);
    expected[31] = 1;
    expected[63] = 0x80;
    assert.deepEqual(Buffer.from(jose), expected);
  });

  describe('rejects malformed DER', () => {
    const good = sign('sha256', Buffer.from('x'), { key: privateKey, dsaEncoding: 'der' });
    const cases: [string, Buffer][] = [
      ['empty', Buffer.alloc(0)],
      ['not a SEQUENCE', Buffer.concat([Buffer.from([0x31]), good.subarray(1)])],
      ['truncated', good.subarray(0, good.length - 1)],
      ['trailing bytes', Buffer.concat([good, Buffer.from([0x00])])],
      ['sequence length too long', Buffer.concat([Buffer.from([0x30, (good[1] as number) + 1]), good.subarray(2)])],
      ['r not an INTEGER', Buffer.from([0x30, 0x06, 0x04, 0x01, 0x01, 0x02, 0x01, 0x01])],
      ['s missing', Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01])],
      ['zero-length r', Buffer.from([0x30, 0x05, 0x02, 0x00, 0x02, 0x01, 0x01])],
      ['r longer than the curve (33 significant bytes)', Buffer.concat([
        Buffer.from([0x30, 0x26, 0x02, 0x21, 0x01]), Buffer.alloc(32, 0xff), Buffer.from([0x02, 0x01, 0x01]),
      ])],
      ['integer length past the end', Buffer.from([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x05, 0x01])],
      ['multi-byte long-form length', Buffer.concat([Buffer.from([0x30, 0x82, 0x00, 0x06]), Buffer.from([0x02, 0x01, 0x01, 0x02, 0x01, 0x01])])],
    ];
    for (const [name, der] of cases) {
      it(name, () => {
        assert.throws(() => derToJose(der), /malformed DER/);
      });
    }
  });
});
