/**
 * The OpenAPI 3.1 document built from a route declaration: it validates against the OpenAPI 3.1 schema (a real
 * validator, @seriousme/openapi-schema-validator), for the sample app and for a 200-route app, and it says what
 * the issue asks: bearer JWT scheme, each route's permission, path parameters, request bodies, the auth
 * endpoints' bodies and error answers.
 */
import { describe, test, expect } from '@jest/globals';
import { Validator } from '@seriousme/openapi-schema-validator';
import shop from '../../examples/shop/app.js';
import { buildOpenApi, PERMISSION_EXTENSION, SECURITY_SCHEME, type OpenApiDocument } from '../../lib/openapi.js';
import { allRoutes, AUTH_ROUTES, defineApp, type Route } from '../../lib/routes.js';

async function validate(doc: object): Promise<{ valid: boolean; errors?: unknown }> {
  const v = new Validator();
  // The validator keeps the object it is given: hand it a copy.
  const result = await v.validate(structuredClone(doc) as Record<string, unknown>);
  expect(v.version).toBe('3.1');
  return result;
}

type Op = Record<string, unknown> & { responses: Record<string, Record<string, unknown>> };
const op = (doc: OpenApiDocument, method: string, path: string): Op => {
  const o = doc.paths[path]?.[method];
  if (!o) throw new Error(`no ${method} ${path} in the document`);
  return o as Op;
};

describe('buildOpenApi', () => {
  const doc = buildOpenApi(shop, { title: 'Shop', version: '2.0.0', serverUrl: 'https://api.example.com/prod' });

  test('the sample app document is valid OpenAPI 3.1', async () => {
    const result = await validate(doc);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toEqual({ title: 'Shop', version: '2.0.0' });
    expect(doc.servers).toEqual([{ url: 'https://api.example.com/prod' }]);
  });

  test('the validator does fail: a broken document is refused', async () => {
    const broken = structuredClone(doc) as { paths: Record<string, Record<string, Record<string, unknown>>> };
    broken.paths['/orders/{id}']!.get!.parameters = [{ name: 'id', in: 'body' }];
    expect((await validate(broken)).valid).toBe(false);
  });

  test('bearer JWT security scheme; every protected route names its permission three ways', () => {
    expect(doc.components.securitySchemes[SECURITY_SCHEME]).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    for (const r of shop.routes) {
      const o = op(doc, r.method.toLowerCase(), r.path);
      expect(o.security).toEqual([{ [SECURITY_SCHEME]: [r.permission] }]);
      expect(o[PERMISSION_EXTENSION]).toBe(r.permission);
      expect(o.description).toContain(`\`${r.permission}\``);
      expect(o.responses['401']).toBeDefined();
      expect(o.responses['403']).toBeDefined();
      expect(o.tags).toEqual([r.handler]);
    }
    // A status the route declares itself keeps its own description.
    expect(op(doc, 'post', '/orders/{id}/fulfil').responses['403']!.description).toContain('inventory:reserve');
  });

  test('path parameters, request bodies and declared response schemas', () => {
    const reserve = op(doc, 'post', '/inventory/{sku}/reservations');
    expect(reserve.parameters).toEqual([{ name: 'sku', in: 'path', required: true, schema: { type: 'string' } }]);
    const declared = shop.routes.find((r) => r.path === '/inventory/{sku}/reservations')!;
    expect(reserve.requestBody).toEqual({ required: true, content: { 'application/json': { schema: declared.requestBody } } });
    expect(op(doc, 'get', '/orders').parameters).toBeUndefined();
    const stock = op(doc, 'get', '/inventory/{sku}').responses['200'] as { content: Record<string, { schema: unknown }> };
    expect(stock.content['application/json']!.schema).toEqual(shop.routes.find((r) => r.path === '/inventory/{sku}')!.responses!['200']!.schema);
    const ids = Object.values(doc.paths).flatMap((item) => Object.values(item).map((o) => o.operationId));
    expect(new Set(ids).size).toBe(ids.length);
  });

  test("tokengate's own endpoints: public, with their request and response bodies", () => {
    for (const r of AUTH_ROUTES) {
      const o = op(doc, r.method.toLowerCase(), r.path);
      expect(o.tags).toEqual(['auth']);
      expect(o[PERMISSION_EXTENSION]).toBeNull();
    }
    const login = op(doc, 'post', '/auth/login');
    expect(login.security).toEqual([]);
    expect(Object.keys((login.requestBody as { content: object }).content)).toEqual(['application/json', 'application/x-www-form-urlencoded']);
    expect(Object.keys(login.responses).sort()).toEqual(['200', '400', '401', '413', '429', '503']);
    expect(login.responses['200']!.content).toEqual({ 'application/json': { schema: { $ref: '#/components/schemas/TokenResponse' } } });
    expect(login.responses['429']!.headers).toEqual({ 'Retry-After': { $ref: '#/components/headers/RetryAfter' } });
    expect(Object.keys(op(doc, 'post', '/auth/refresh').responses).sort()).toEqual(['200', '400', '401', '403', '413', '503']);
    // Logout: a bearer token is optional (the function checks it; a refresh token alone also works).
    expect(op(doc, 'post', '/auth/logout').security).toEqual([{ [SECURITY_SCHEME]: [] }, {}]);
    expect(op(doc, 'post', '/auth/logout').responses['204']).toBeDefined();
    expect(op(doc, 'get', '/.well-known/jwks.json').responses['200']!.content).toEqual({ 'application/json': { schema: { $ref: '#/components/schemas/Jwks' } } });
    expect(op(doc, 'get', '/openapi.json')).toBeDefined();
    expect(doc.components.schemas.TokenResponse).toMatchObject({ required: ['access_token', 'token_type', 'expires_in'] });
  });

  test('a public team route has no security and no 401/403', () => {
    const app = defineApp({ services: { status: { entry: './status.ts' } }, routes: [{ method: 'GET', path: '/status', permission: null, handler: 'status' }] });
    const status = op(buildOpenApi(app), 'get', '/status');
    expect(status.security).toEqual([]);
    expect(status[PERMISSION_EXTENSION]).toBeNull();
    expect(Object.keys(status.responses)).toEqual(['200']);
  });

  test('a table from allRoutes() (auth routes included) gives the same document', () => {
    expect(buildOpenApi({ routes: allRoutes(shop), services: shop.services })).toEqual(buildOpenApi(shop));
  });

  test('a 200-route app validates, every route present', async () => {
    const routes: Route<'svc'>[] = [];
    for (let i = 0; i < 50; i++) {
      routes.push(
        { method: 'GET', path: `/r${i}`, permission: `r${i}:read`, handler: 'svc' },
        { method: 'POST', path: `/r${i}`, permission: `r${i}:write`, handler: 'svc', requestBody: { type: 'object', properties: { n: { type: 'integer' } } } },
        { method: 'GET', path: `/r${i}/{id}`, permission: `r${i}:read`, handler: 'svc', responses: { '200': { description: 'ok', schema: { type: 'object' } }, '404': { description: 'none' } } },
        { method: 'DELETE', path: `/r${i}/{id}/items/{item}`, permission: i % 10 === 0 ? null : `r${i}:admin`, handler: 'svc' },
      );
    }
    const app = defineApp({ services: { svc: { entry: './svc.ts' } }, routes });
    const big = buildOpenApi(app);
    const count = Object.values(big.paths).reduce((n, item) => n + Object.keys(item).length, 0);
    expect(count).toBe(200 + AUTH_ROUTES.length + 1);
    expect(op(big, 'delete', '/r3/{id}/items/{item}').parameters).toHaveLength(2);
    const result = await validate(big);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
  });
});
