/**
 * The anchor: the obvious TOKEN authorizer, as most tutorials write it. aws-jwt-verify for the token and
 * @aws-sdk/client-dynamodb GetItem for the session, on every request, no cache; a policy for the called method.
 * The benchmark bundles it exactly like our functions and measures its cold start in the same run.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { JwtVerifier } from 'aws-jwt-verify';
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';

const verifier = JwtVerifier.create({
  issuer: process.env.TOKEN_ISSUER!,
  audience: process.env.TOKEN_AUDIENCE!,
  jwksUri: 'https://keys.invalid/.well-known/jwks.json',
});
verifier.cacheJwks(JSON.parse(process.env.JWKS_JSON!));
const ddb = new DynamoDBClient(process.env.DYNAMODB_ENDPOINT ? { endpoint: process.env.DYNAMODB_ENDPOINT } : {});

export const handler = async (event: APIGatewayTokenAuthorizerEvent): Promise<APIGatewayAuthorizerResult> => {
  let payload: Record<string, unknown>;
  try {
    payload = verifier.verifySync(event.authorizationToken.replace(/^Bearer /i, '')) as Record<string, unknown>;
  } catch {
    throw new Error('Unauthorized');
  }
  const { Item } = await ddb.send(
    new GetItemCommand({
      TableName: process.env.TABLE_NAME!,
      Key: { pk: { S: `SESSION#${String(payload.sid)}` }, sk: { S: 'META' } },
      ConsistentRead: true,
    }),
  );
  if (!Item || Item.revokedAt) throw new Error('Unauthorized');
  return {
    principalId: String(payload.sub),
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }] },
    context: { sub: String(payload.sub), scope: String(payload.scope) },
  };
};
