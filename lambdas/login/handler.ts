/** Lambda entry: wiring only (see app.ts for the handler and ../wiring.ts for the composition). */
import { optionalString } from '../core/config.js';
import { createObservability } from '../observability.js';
import { authServiceFromEnv } from '../wiring.js';
import { createLoginHandler } from './app.js';

const obs = createObservability('login');
export const handler = createLoginHandler({
  auth: await authServiceFromEnv(process.env, obs),
  obs,
  cookiePath: optionalString(process.env, 'REFRESH_COOKIE_PATH'),
});
