/**
 * Lambda entry for the TOKEN authorizer. Everything is built at init: the key set (from JWKS_JSON, no
 * network), the policy table, the revocation cache; a request costs one signature check, a Map lookup and
 * at most one store round trip per session per cache window.
 */
import { routes } from '../../lib/routes.js';
import { systemClock } from '../core/clock.js';
import { revocationConfig } from '../core/config.js';
import { PolicyBuilder } from '../core/policy.js';
import { RevocationCheck } from '../core/revocation.js';
import { DynamoSessionStatusSource } from '../adapters/dynamo/session-status.js';
import { createObservability } from '../observability.js';
import { tableFromEnv, verifierFromEnv } from '../wiring.js';
import { createAuthorizer } from './authorizer.js';

const obs = createObservability('authorizer');
const rc = revocationConfig(process.env);

export const handler = createAuthorizer({
  verifier: verifierFromEnv(process.env),
  revocation: new RevocationCheck(new DynamoSessionStatusSource(tableFromEnv(process.env)), systemClock, {
    ttlMs: rc.cacheTtlSeconds * 1000,
    maxEntries: rc.cacheMaxEntries,
  }),
  policy: new PolicyBuilder(routes),
  clock: systemClock,
  count: obs.count,
  after: obs.flushIfDue,
  onError: (err) => obs.logger.error('authorizer failure', { errorName: (err as Error)?.name, causeName: ((err as Error)?.cause as Error | undefined)?.name }),
});
