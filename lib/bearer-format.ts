/**
 * What the gateway lets through to the TOKEN authorizer: `Bearer <compact JWS>`, the scheme in any case (RFC
 * 7235; the authorizer accepts any), each part in canonical base64url (lambdas/core/token-format.ts). One
 * definition for the deployed API (IdentityValidationExpression, Java regex) and the local gateway.
 */
import { COMPACT_JWS_PATTERN } from '../lambdas/core/token-format.js';

/** The identity validation expression, as a string (API Gateway's dialect is Java's; this is also valid JS). */
export const BEARER_VALIDATION_PATTERN = `^[Bb][Ee][Aa][Rr][Ee][Rr] ${COMPACT_JWS_PATTERN}$`;

/** The same, compiled for the local gateway. */
export const BEARER_VALIDATION_REGEX = new RegExp(BEARER_VALIDATION_PATTERN);
