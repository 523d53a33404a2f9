/** Lambda entry: serves the key set the stack published in JWKS_JSON (no KMS call, no table access). */
import { parseOrigins, withCors } from '../http/cors.js';
import { jwksSetting } from '../core/config.js';
import { createJwksHandler } from './app.js';

export const handler = withCors(
  parseOrigins(process.env.CORS_ALLOW_ORIGINS),
  createJwksHandler(jwksSetting(process.env)),
);
