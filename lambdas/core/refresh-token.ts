/** Opaque refresh tokens: 256 bits from the CSPRNG; only their SHA-256 is ever stored. */
import { createHash, randomBytes } from 'node:crypto';

const PREFIX = 'rt_';
const SHAPE = /^rt_[A-Za-z0-9_-]{43}$/;

export const newRefreshToken = (): string => PREFIX + randomBytes(32).toString('base64url');

/** Cheap shape check before any store lookup. */
export const isRefreshTokenShape = (t: unknown): t is string => typeof t === 'string' && SHAPE.test(t);

/** The storage key of a refresh token. A hash, not the token: a leaked table does not leak sessions. */
export const hashRefreshToken = (token: string): string => createHash('sha256').update(token).digest('base64url');

export const newSessionId = (): string => randomBytes(16).toString('base64url');
