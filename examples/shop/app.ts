/**
 * The sample app's declaration — written exactly as a team writes its own: two services behind tokengate, each
 * route with the permission it needs, each service with its own table. The CDK app (bin/app.ts), `npm start`, the authorizer's policy and the
 * OpenAPI document all read this one table.
 */
import { defineApp } from '../../lib/routes.js';

const order = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    owner: { type: 'string' },
    item: { type: 'string' },
    quantity: { type: 'integer' },
    createdAt: { type: 'integer' },
  },
} as const;

export default defineApp({
  services: {
    orders: {
      entry: './orders/handler.ts',
      description: 'Sample orders service: each caller their own orders',
      // Its own table; the service reads its name from ORDERS_TABLE.
      tables: { ORDERS_TABLE: { partitionKey: 'owner', sortKey: 'id' } },
    },
    inventory: {
      entry: './inventory/handler.ts',
      description: 'Sample inventory service: stock and reservations',
      tables: { INVENTORY_TABLE: { partitionKey: 'sku' } },
      // `npm start` only: the demo stock (tea 100, coffee 5) in a fresh data dir.
      localSeed: './inventory/seed.ts',
    },
  },
  routes: [
    {
      method: 'GET', path: '/orders', permission: 'orders:read', handler: 'orders',
      summary: "The caller's orders",
      responses: { '200': { description: 'The caller and their orders', schema: { type: 'object', properties: { sub: { type: 'string' }, orders: { type: 'array', items: order } } } } },
    },
    {
      method: 'POST', path: '/orders', permission: 'orders:write', handler: 'orders',
      summary: 'Place an order',
      requestBody: { type: 'object', properties: { item: { type: 'string', minLength: 1, maxLength: 100 }, quantity: { type: 'integer', minimum: 1, maximum: 1000 } } },
      responses: { '201': { description: 'The new order', schema: { type: 'object', properties: { sub: { type: 'string' }, order } } } },
    },
    {
      method: 'GET', path: '/orders/{id}', permission: 'orders:read', handler: 'orders',
      summary: 'One of the caller\'s orders',
      responses: { '200': { description: 'The order', schema: { type: 'object', properties: { sub: { type: 'string' }, order } } }, '404': { description: 'No such order' } },
    },
    {
      method: 'DELETE', path: '/orders/{id}', permission: 'orders:admin', handler: 'orders',
      summary: 'Delete an order',
      responses: { '204': { description: 'Deleted' }, '404': { description: 'No such order' } },
    },
    {
      method: 'POST', path: '/orders/{id}/fulfil', permission: 'orders:write', handler: 'orders',
      summary: "Reserve the order's stock at inventory, as the caller (the caller's token is forwarded)",
      responses: {
        '200': { description: 'The reservation inventory made' },
        '403': { description: 'The caller lacks inventory:reserve (the body names it)' },
        '404': { description: 'No such order, or inventory does not know the item' },
        '409': { description: 'Not enough stock' },
      },
    },
    {
      method: 'GET', path: '/inventory/{sku}', permission: 'inventory:read', handler: 'inventory',
      summary: 'Stock of one item',
      responses: { '200': { description: 'Available stock', schema: { type: 'object', properties: { sku: { type: 'string' }, available: { type: 'integer' } } } }, '404': { description: 'Unknown sku' } },
    },
    {
      method: 'POST', path: '/inventory/{sku}/reservations', permission: 'inventory:reserve', handler: 'inventory',
      summary: 'Reserve stock',
      requestBody: {
        type: 'object', required: ['quantity'],
        properties: {
          quantity: { type: 'integer', minimum: 1, maximum: 1000 },
          reference: { type: 'string', pattern: '^[A-Za-z0-9-]{1,64}$', description: 'Your id for this reservation: a retry with the same reference returns the first reservation' },
        },
      },
      responses: { '201': { description: 'The reservation' }, '404': { description: 'Unknown sku' }, '409': { description: 'Not enough stock' } },
    },
  ],
});
