/** Lambda entry: wiring only (see app.ts for the handler and ../wiring.ts for the composition). */
import { createObservability } from '../observability.js';
import { authServiceFromEnv } from '../wiring.js';
import { createLoginHandler } from './app.js';

const obs = createObservability('login');
export const handler = createLoginHandler({ auth: await authServiceFromEnv(process.env, obs), obs });
