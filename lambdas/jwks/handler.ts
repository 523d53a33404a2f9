/**
 * Lambda entry: serves the key set the stack published in JWKS_JSON (no KMS call, no table access), with
 * Powertools per invocation like every function (context in the logs, cold-start metric).
 */
import { parseOrigins, withCors } from '../http/cors.js';
import { jwksSetting } from '../core/config.js';
import { createObservability, instrument } from '../observability.js';
import { createJwksHandler } from './app.js';

const obs = createObservability('jwks');
// The API's OpenAPI document, compiled in by esbuild's define (lib/bundling.ts openApiDefine); spelled out in full:
// define matches this exact expression. Absent (a bundle without it): GET /openapi.json is not served here.
const openapi = process.env.TOKENGATE_OPENAPI || undefined;

export const handler = instrument(obs, withCors(parseOrigins(process.env.CORS_ALLOW_ORIGINS), createJwksHandler(jwksSetting(process.env), openapi)));
