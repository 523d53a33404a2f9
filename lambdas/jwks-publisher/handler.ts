/**
 * CloudFormation custom resource (CDK Provider framework `onEvent` handler) that turns the stack's KMS signing
 * keys into a public JWKS at deploy time. The result comes back as the resource attribute `Jwks`, which the
 * stack hands to every verifier as env JWKS_JSON: nothing calls KMS or fetches keys per request or at cold start.
 *
 * Properties: `KeyIds` — key ARNs, active key first. A change of the list (rotation) is an Update, which
 * recomputes the set. Delete does nothing: the keys are retained by the stack and the JWKS is only data.
 *
 * Only public material leaves this function; the response is small (about 250 bytes per key, well under the
 * 4 KB custom-resource response limit for the handful of keys a rotation needs).
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type { KMSClient } from '@aws-sdk/client-kms';
import { defaultKmsClient, fetchPublicJwk } from '../adapters/kms-signer.js';
import type { Jwks } from '../core/ports.js';
import { createObservability, instrument, logUnexpected } from '../observability.js';

/** The attribute the stack reads with `getAttString`. */
export const JWKS_ATTRIBUTE = 'Jwks';
/** Stable physical id: the resource is a computed value, never replaced. */
export const PHYSICAL_RESOURCE_ID = 'tokengate-jwks';

export interface OnEventResponse {
  PhysicalResourceId: string;
  Data?: Record<string, string>;
}

/** Public keys of `keyIds`, in order, duplicates (same thumbprint) dropped. */
export async function buildJwks(client: KMSClient, keyIds: readonly string[]): Promise<Jwks> {
  const keys = await Promise.all(keyIds.map((id) => fetchPublicJwk(client, id)));
  const seen = new Set<string>();
  return { keys: keys.filter((k) => !seen.has(k.kid) && seen.add(k.kid)) };
}

function keyIdsOf(props: Record<string, unknown>): string[] {
  const ids = props.KeyIds;
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((x): x is string => typeof x === 'string' && x !== '')) {
    throw new Error('KeyIds must be a non-empty list of KMS key ARNs');
  }
  return ids;
}

export function makeHandler(client: () => KMSClient = defaultKmsClient) {
  return async (event: CloudFormationCustomResourceEvent): Promise<OnEventResponse> => {
    if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };
    const jwks = await buildJwks(client(), keyIdsOf(event.ResourceProperties));
    return {
      PhysicalResourceId: event.RequestType === 'Update' ? event.PhysicalResourceId : PHYSICAL_RESOURCE_ID,
      Data: { [JWKS_ATTRIBUTE]: JSON.stringify(jwks) },
    };
  };
}

const obs = createObservability('jwks-publisher');
const onEvent = makeHandler();
const logFailure = logUnexpected(obs, 'jwks publication failed');

/** The Lambda entry: Powertools per invocation; a failure is logged by class (the Provider framework reports it). */
export const handler = instrument(obs, async (event: CloudFormationCustomResourceEvent): Promise<OnEventResponse> => {
  try {
    return await onEvent(event);
  } catch (err) {
    logFailure(err);
    throw err;
  }
});
