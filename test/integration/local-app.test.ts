/**
 * `npm start` serves the team's app: the local stack reads the declaration named by TOKENGATE_APP (here a
 * team's own, written in plain ES modules in a directory of its own), creates the service's declared table,
 * runs its local seed, loads its handler with its environment (the table's name, API_URL, the SDK pointed at
 * the embedded store), and routes tokengate's routes plus exactly the app's, each with its permission.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RouteDeclarationError } from '../../lib/routes.js';
import { bearer, DEMO, get, login, startTestStack, type TestStack } from '../helpers/local.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
// Inside the repo, so the team's modules resolve @aws-sdk/client-dynamodb from its node_modules.
const cache = join(root, 'node_modules', '.cache');
mkdirSync(cache, { recursive: true });
const dir = mkdtempSync(join(cache, 'tokengate-team-app-'));

writeFileSync(
  join(dir, 'app.mjs'),
  `export default {
  services: {
    notes: { entry: './notes.mjs', tables: { NOTES_TABLE: { partitionKey: 'id' } }, localSeed: './seed.mjs' },
  },
  routes: [
    { method: 'GET', path: '/notes/{id}', permission: 'orders:read', handler: 'notes' },
    { method: 'GET', path: '/ping', permission: null, handler: 'notes' },
  ],
};
`,
);
writeFileSync(
  join(dir, 'seed.mjs'),
  `import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
export default async function seed(env) {
  const client = new DynamoDBClient({});
  await client.send(new PutItemCommand({ TableName: env.NOTES_TABLE, Item: { id: { S: 'welcome' }, text: { S: 'seeded locally' } } }));
  client.destroy();
}
`,
);
writeFileSync(
  join(dir, 'notes.mjs'),
  `import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
const table = process.env.NOTES_TABLE;
const api = process.env.API_URL;
const client = new DynamoDBClient({});
export const handler = async (event) => {
  if (event.resource === '/ping') return { statusCode: 200, body: JSON.stringify({ pong: true, api }) };
  const out = await client.send(new GetItemCommand({ TableName: table, Key: { id: { S: event.pathParameters.id } } }));
  return out.Item
    ? { statusCode: 200, body: JSON.stringify({ table, text: out.Item.text.S, sub: event.requestContext.authorizer.sub }) }
    : { statusCode: 404, body: JSON.stringify({ message: 'no such note' }) };
};
`,
);
writeFileSync(join(dir, 'broken.mjs'), `export default { services: { x: { entry: './x.mjs' } }, routes: [{ method: 'GET', path: '/auth/x', permission: null, handler: 'x' }] };\n`);

let h: TestStack;
beforeAll(async () => {
  h = await startTestStack({ TOKENGATE_APP: join(dir, 'app.mjs') });
});
afterAll(async () => {
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

test("the team's routes run with its handler, its table (created and seeded) and its environment", async () => {
  assert.equal(h.stack.app.file, join(dir, 'app.mjs'));
  expect(h.stack.app.services).toEqual(['notes']);
  expect(h.stack.app.tables).toEqual({ notes: { NOTES_TABLE: 'notes.NOTES_TABLE' } });
  expect(h.stack.app.routes.map((r) => `${r.method} ${r.path}`)).toEqual([
    'POST /auth/login', 'POST /auth/refresh', 'POST /auth/logout', 'GET /.well-known/jwks.json', 'GET /notes/{id}', 'GET /ping',
  ]);

  const ping = await get(h, '/ping');
  expect([ping.status, ping.json]).toEqual([200, { pong: true, api: h.url }]);

  const { access_token } = await login(h, DEMO.bob.username, DEMO.bob.password);
  const note = await get(h, '/notes/welcome', bearer(access_token));
  expect([note.status, note.json]).toEqual([200, { table: 'notes.NOTES_TABLE', text: 'seeded locally', sub: 'bob' }]);
  assert.equal((await get(h, '/notes/other', bearer(access_token))).status, 404);
  assert.equal((await get(h, '/notes/welcome')).status, 401, 'the authorizer guards the team\'s protected route');
  assert.equal((await get(h, '/orders', bearer(access_token))).status, 403, 'the sample app is not served: Missing Authentication Token');
});

test('a bad declaration fails at start, before anything runs', async () => {
  await expect(startTestStack({ TOKENGATE_APP: join(dir, 'broken.mjs') })).rejects.toBeInstanceOf(RouteDeclarationError);
  await expect(startTestStack({ TOKENGATE_APP: join(dir, 'missing.mjs') })).rejects.toThrow(/cannot load the app declaration/);
});

test("the services' environment is process-wide while the stack runs, and put back when it closes", async () => {
  assert.equal(process.env.NOTES_TABLE, 'notes.NOTES_TABLE');
  assert.equal(process.env.API_URL, h.url);
  await h.close();
  h = undefined as unknown as TestStack;
  assert.equal(process.env.NOTES_TABLE, undefined);
  assert.equal(process.env.API_URL, undefined);
  assert.equal(process.env.AWS_ENDPOINT_URL_DYNAMODB, undefined);
});
