/**
 * Lambda entry of the sample inventory service. Its environment: INVENTORY_TABLE (its own table, ../app.ts),
 * CORS_ALLOW_ORIGINS (optional); the DynamoDB client takes region, credentials and endpoint from the
 * environment as the SDK always does.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { parseOrigins, withCors } from '../../../service/index.js';
import { createInventoryHandler } from './app.js';
import { InventoryStore } from './store.js';

const table = process.env.INVENTORY_TABLE;
if (!table) throw new Error('INVENTORY_TABLE is not set');

const dynamo = new DynamoDBClient({ maxAttempts: 3, requestHandler: { connectionTimeout: 1000, requestTimeout: 2000 } });

export const handler = withCors(parseOrigins(process.env.CORS_ALLOW_ORIGINS), createInventoryHandler({ inventory: new InventoryStore(dynamo, table) }));
