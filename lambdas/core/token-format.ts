/**
 * One spelling per token: the compact JWS serialization with every part in canonical base64url (RFC 7515 §2,
 * RFC 4648 §3.5 and §3.5's "pad bits set to zero"): no `=` padding, never a length of 4n+1, and the bits the
 * last character carries beyond the encoded bytes all zero. Node's and aws-jwt-verify's decoders accept
 * other spellings of the same bytes (padding, non-zero pad bits), so one signed token could be written many
 * ways, and every way would be a different key in API Gateway's authorizer cache and in logs. The gateway's
 * identity validation (lib/bearer-format.ts) and the verifier both refuse them, with this one definition.
 *
 * The pattern is plain enough for Java (API Gateway) and JavaScript alike, and free of catastrophic
 * backtracking: each part is fixed four-character groups followed by one required final group, so for a given
 * end there is exactly one way to match, and `.` is outside the alphabet.
 */

/** Any base64url character. */
const B64 = '[-0-9A-Za-z_]';

/**
 * One non-empty part in canonical base64url: whole groups of four, the last either a whole group, or three
 * characters whose last encodes 4 bits followed by 2 zero bits, or two whose last encodes 2 bits followed by
 * 4 zero bits.
 */
export const BASE64URL_PART_PATTERN = `(?:${B64}{4})*(?:${B64}{4}|${B64}{2}[AEIMQUYcgkosw048]|${B64}[AQgw])`;

/** header.payload.signature, each part canonical (unanchored: for embedding in a larger pattern). */
export const COMPACT_JWS_PATTERN = `${BASE64URL_PART_PATTERN}\\.${BASE64URL_PART_PATTERN}\\.${BASE64URL_PART_PATTERN}`;

const COMPACT_JWS = new RegExp(`^${COMPACT_JWS_PATTERN}$`);

/** True when `token` is three canonical base64url parts joined by dots, and nothing else. */
export const isCanonicalCompactJws = (token: string): boolean => COMPACT_JWS.test(token);
