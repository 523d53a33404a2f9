/** Reading proxy (v1) requests defensively: every malformed input becomes a 4xx, never a crash. */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { InvalidRequestError, PayloadTooLargeError } from '../core/errors.js';
import { safeJsonParse } from '../core/encoding.js';

/** Auth bodies are tiny; anything bigger is refused before parsing. */
export const MAX_BODY_BYTES = 8 * 1024;

/** The parts of a proxy event that carry its headers (a hand-made event may have either, or both). */
export type EventHeaders = Pick<APIGatewayProxyEvent, 'headers'> & { readonly multiValueHeaders?: APIGatewayProxyEvent['multiValueHeaders'] | null };

/**
 * Case-insensitive header lookup (API Gateway REST passes headers as the client sent them). `headers` first;
 * a header found only in `multiValueHeaders` (a hand-made or SAM-generated event may carry only those) counts
 * too, with its last value, which is what API Gateway itself copies into `headers`.
 */
export function header(event: EventHeaders, name: string): string | undefined {
  const headers = event.headers ?? {};
  const direct = headers[name];
  if (typeof direct === 'string') return direct;
  const lower = name.toLowerCase();
  for (const k in headers) {
    const v = headers[k];
    if (typeof v === 'string' && k.toLowerCase() === lower) return v;
  }
  const multi = event.multiValueHeaders ?? {};
  for (const k in multi) {
    if (k.toLowerCase() !== lower) continue;
    const values = multi[k];
    const last = Array.isArray(values) ? values[values.length - 1] : undefined;
    if (typeof last === 'string') return last;
  }
  return undefined;
}

/**
 * The request body as an object of string/boolean fields. JSON and form encoding are both accepted.
 * An empty body is `{}`.
 */
export function readBody(event: EventHeaders & Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>): Record<string, unknown> {
  if (event.body === null || event.body === undefined || event.body === '') return {};
  if (typeof event.body !== 'string') throw new InvalidRequestError('body must be a string');
  const raw = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  if (raw.length > MAX_BODY_BYTES) throw new PayloadTooLargeError(`body larger than ${MAX_BODY_BYTES} bytes`);
  const text = raw.toString('utf8');
  const type = (header(event, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') {
    return Object.fromEntries(new URLSearchParams(text));
  }
  if (type !== '' && type !== 'application/json' && !type.endsWith('+json')) {
    throw new InvalidRequestError('Content-Type must be application/json');
  }
  let parsed: unknown;
  try {
    parsed = safeJsonParse(text);
  } catch {
    throw new InvalidRequestError('body is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidRequestError('body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

/** A string field, or undefined; a present field of another type is a 400. */
export function optionalStringField(body: Record<string, unknown>, name: string): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new InvalidRequestError(`${name} must be a string`);
  return v;
}

export function requiredStringField(body: Record<string, unknown>, name: string): string {
  const v = optionalStringField(body, name);
  if (v === undefined || v === '') throw new InvalidRequestError(`${name} is required`);
  return v;
}

/** `Bearer <token>` → token, or undefined. */
export function bearerToken(event: EventHeaders): string | undefined {
  const h = header(event, 'authorization');
  if (h === undefined) return undefined;
  const m = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(h);
  return m ? m[1] : undefined;
}
