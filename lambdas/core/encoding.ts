/** base64url (RFC 4648 §5, no padding) and JSON helpers shared by token code. */
export const b64url = (data: Uint8Array | string): string =>
  Buffer.from(typeof data === 'string' ? Buffer.from(data, 'utf8') : data).toString('base64url');

export const b64urlJson = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

/** JSON.parse that refuses prototype-polluting keys (after aws-jwt-verify's safeJsonParse). */
export function safeJsonParse(text: string): unknown {
  return JSON.parse(text, (key, value: unknown) => (key === '__proto__' || key === 'constructor' ? undefined : value));
}
