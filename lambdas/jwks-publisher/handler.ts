/**
 * CloudFormation custom resource (CDK Provider framework `onEvent` handler) that turns the stack's KMS signing
 * keys into a public JWKS at deploy time. The result comes back as the resource attribute `Jwks`, which the
 * stack hands to every verifier as env JWKS_JSON: nothing calls KMS or fetches keys per request or at cold start.
 *
 * Properties: `KeyIds` — key ARNs, active key first. A change of the list (rotation) is an Update, which
 * recomputes the set; so is a change of `PublisherCode` (this function's code), so a fix here reaches the
 * published set with the deploy that ships it. Delete does nothing: the keys are retained by the stack and the
 * JWKS is only data.
 *
 * Eventual consistency: the publisher runs seconds after CloudFormation created a key and granted this
 * function's role `kms:GetPublicKey` on it. KMS documents that a new key may answer NotFoundException (or
 * KMSInvalidStateException) for a short while, and an IAM grant takes a while to reach KMS (AccessDenied).
 * Those three are retried with exponential backoff for up to `retryForMs` (about 90 s); anything else fails at
 * once. A failure names the key, the AWS error, how long it tried and where this function's logs are: the
 * Provider framework adds a line `Logs: /aws/lambda/<name>` of its own, which does not exist for this function
 * (its log group is the one the stack created for it).
 *
 * Only public material leaves this function; the response is small (about 250 bytes per key, well under the
 * 4 KB custom-resource response limit for the handful of keys a rotation needs).
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type { KMSClient } from '@aws-sdk/client-kms';
import { defaultKmsClient, fetchPublicJwk } from '../adapters/kms-signer.js';
import { systemClock, type Clock } from '../core/clock.js';
import type { Jwks, PublicJwk } from '../core/ports.js';
import { createObservability, instrument } from '../observability.js';

/** The attribute the stack reads with `getAttString`. */
export const JWKS_ATTRIBUTE = 'Jwks';
/** Stable physical id: the resource is a computed value, never replaced. */
export const PHYSICAL_RESOURCE_ID = 'tokengate-jwks';

/** AWS error names that mean "not yet" right after CreateKey or a grant, not "never". */
export const RETRYABLE_ERRORS: readonly string[] = ['NotFoundException', 'AccessDeniedException', 'KMSInvalidStateException'];

export interface OnEventResponse {
  PhysicalResourceId: string;
  Data?: Record<string, string>;
}

export interface PublisherOptions {
  /** @default one KMSClient per cold start */
  client?: () => KMSClient;
  /** @default the system clock */
  clock?: Clock;
  /** Waits `ms`; tests pass one that advances their clock instead. @default a timer */
  sleep?: (ms: number) => Promise<void>;
  /** Stop retrying once this much time has passed since the first attempt. @default 90 000 */
  retryForMs?: number;
  /** First backoff; doubles each time, at most `maxDelayMs`. @default 1000 */
  firstDelayMs?: number;
  /** @default 16 000 */
  maxDelayMs?: number;
  /** Where this function logs, for the failure message. @default env AWS_LAMBDA_LOG_GROUP_NAME */
  logGroupName?: string;
  /** Told about each retry (the Lambda entry logs it). @default nothing */
  onRetry?: (info: { keyId: string; error: string; attempt: number; delayMs: number }) => void;
}

/** Why the JWKS could not be published: the key, the AWS error, the attempts; safe to log (no key material). */
export class JwksPublicationError extends Error {
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
    this.name = 'JwksPublicationError';
  }
}

/** The innermost AWS error of `err` (fetchPublicJwk wraps the SDK's error as `cause`). */
function awsError(err: unknown): { name: string; message: string } {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? { name: e.name, message: e.message } : { name: 'Error', message: String(e) };
}

/** Public keys of `keyIds`, in order, duplicates (same thumbprint) dropped; each key retried as documented above. */
export async function buildJwks(client: KMSClient, keyIds: readonly string[], options: PublisherOptions = {}): Promise<Jwks> {
  const keys = await Promise.all(keyIds.map((id) => fetchWithRetry(client, id, options)));
  const seen = new Set<string>();
  return { keys: keys.filter((k) => !seen.has(k.kid) && seen.add(k.kid)) };
}

async function fetchWithRetry(client: KMSClient, keyId: string, options: PublisherOptions): Promise<PublicJwk> {
  const clock = options.clock ?? systemClock;
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  const retryForMs = options.retryForMs ?? 90_000;
  const maxDelayMs = options.maxDelayMs ?? 16_000;
  const started = clock.now();
  let delayMs = options.firstDelayMs ?? 1000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetchPublicJwk(client, keyId);
    } catch (err) {
      const cause = awsError(err);
      const elapsed = clock.now() - started;
      const retryable = RETRYABLE_ERRORS.includes(cause.name);
      if (!retryable || elapsed + delayMs > retryForMs) {
        const logs = options.logGroupName ?? process.env.AWS_LAMBDA_LOG_GROUP_NAME;
        const tried = attempt === 1 ? '1 attempt' : `${attempt} attempts over ${Math.round(elapsed / 1000)} s`;
        throw new JwksPublicationError(
          `JWKS publication failed: GetPublicKey for ${keyId}: ${cause.name}: ${cause.message} (${tried}` +
            `${retryable ? '' : '; not retried'})` +
            (retryable && cause.name === 'AccessDeniedException'
              ? '. Check that the publisher role has kms:GetPublicKey on the key and that no key policy denies it.'
              : '') +
            (logs ? ` Publisher logs: ${logs}` : ''),
          { cause: err },
        );
      }
      options.onRetry?.({ keyId, error: cause.name, attempt, delayMs });
      await sleep(delayMs);
      delayMs = Math.min(delayMs * 2, maxDelayMs);
    }
  }
}

function keyIdsOf(props: Record<string, unknown>): string[] {
  const ids = props.KeyIds;
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((x): x is string => typeof x === 'string' && x !== '')) {
    throw new Error('KeyIds must be a non-empty list of KMS key ARNs');
  }
  return ids;
}

/**
 * The onEvent handler. The first argument may be the KMS client factory alone (older call sites) or options.
 */
export function makeHandler(clientOrOptions: (() => KMSClient) | PublisherOptions = {}) {
  const options: PublisherOptions = typeof clientOrOptions === 'function' ? { client: clientOrOptions } : clientOrOptions;
  const client = options.client ?? defaultKmsClient;
  return async (event: CloudFormationCustomResourceEvent): Promise<OnEventResponse> => {
    if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };
    const jwks = await buildJwks(client(), keyIdsOf(event.ResourceProperties), options);
    return {
      PhysicalResourceId: event.RequestType === 'Update' ? event.PhysicalResourceId : PHYSICAL_RESOURCE_ID,
      Data: { [JWKS_ATTRIBUTE]: JSON.stringify(jwks) },
    };
  };
}

const obs = createObservability('jwks-publisher');
const onEvent = makeHandler({
  onRetry: (info) => obs.logger.warn('GetPublicKey not ready yet; retrying', { ...info }),
});

/**
 * The Lambda entry: Powertools per invocation. A failure is logged with the AWS error's name and message (never
 * key material: there is none here) and thrown with the same text, which the Provider framework hands to
 * CloudFormation as the resource's status reason.
 */
export const handler = instrument(obs, async (event: CloudFormationCustomResourceEvent): Promise<OnEventResponse> => {
  try {
    return await onEvent(event);
  } catch (err) {
    obs.logger.error('jwks publication failed', { error: err instanceof Error ? err.message : String(err), requestType: event.RequestType });
    throw err;
  }
});
