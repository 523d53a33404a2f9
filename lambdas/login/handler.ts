/**
 * Lambda entry: wiring only (see app.ts for the handler and ../wiring.ts for the composition), instrumented with
 * Powertools per invocation (Lambda context in the logs, cold-start metric, one metrics flush).
 */
import { refreshCookieConfig } from '../core/config.js';
import { parseOrigins, withCors } from '../http/cors.js';
import { createObservability, instrument } from '../observability.js';
import { authServiceFromEnv } from '../wiring.js';
import { createLoginHandler } from './app.js';

const obs = createObservability('login');
const app = createLoginHandler({
  auth: await authServiceFromEnv(process.env, obs),
  obs,
  cookie: refreshCookieConfig(process.env),
});
export const handler = instrument(obs, withCors(parseOrigins(process.env.CORS_ALLOW_ORIGINS), app));
