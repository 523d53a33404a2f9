/** Lambda entry: serves the key set the stack published in JWKS_JSON (no KMS call, no table access). */
import { jwksSetting } from '../core/config.js';
import { createJwksHandler } from './app.js';

export const handler = createJwksHandler(jwksSetting(process.env));
