/** Lambda entry: wiring only (see app.ts for the handler and ../wiring.ts for the composition). */
import { refreshCookieConfig } from '../core/config.js';
import { parseOrigins, withCors } from '../http/cors.js';
import { createObservability } from '../observability.js';
import { authServiceFromEnv } from '../wiring.js';
import { createRefreshHandler } from './app.js';

const obs = createObservability('refresh');
const app = createRefreshHandler({
  auth: await authServiceFromEnv(process.env, obs),
  obs,
  cookie: refreshCookieConfig(process.env),
});
export const handler = withCors(parseOrigins(process.env.CORS_ALLOW_ORIGINS), app);
