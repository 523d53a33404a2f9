/**
 * Lambda entry of the sample orders service. Its environment: ORDERS_TABLE (its own table, ../app.ts), API_URL
 * (the API, where inventory is called), CORS_ALLOW_ORIGINS (optional). The DynamoDB client takes region,
 * credentials and endpoint from the environment as the SDK always does (`npm start` points it at the embedded
 * store with AWS_ENDPOINT_URL_DYNAMODB).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { parseOrigins, withCors } from '../../../service/index.js';
import { createOrdersHandler } from './app.js';
import { OrdersStore } from './store.js';

const table = process.env.ORDERS_TABLE;
if (!table) throw new Error('ORDERS_TABLE is not set');

const dynamo = new DynamoDBClient({ maxAttempts: 3, requestHandler: { connectionTimeout: 1000, requestTimeout: 2000 } });

export const handler = withCors(
  parseOrigins(process.env.CORS_ALLOW_ORIGINS),
  createOrdersHandler({ orders: new OrdersStore(dynamo, table), ...(process.env.API_URL ? { apiUrl: process.env.API_URL } : {}) }),
);
