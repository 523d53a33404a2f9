/**
 * The local gateway's limits over real HTTP on loopback: one identity source per request, the authorizer before
 * the body, the body bounded while it streams, header/request/keep-alive timeouts, the header size quota, the
 * connection cap, and `sourceIp` from the TCP peer. Requests are written by hand on raw sockets where the
 * test needs to control exactly what is sent and when. Nothing sleeps: a test that would wait on a timer the
 * gateway fails to arm ends on its own `timeout` instead.
 */
import { describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { APIGatewayAuthorizerResult, APIGatewayProxyEvent, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { ManualClock } from '../../lambdas/core/clock.js';
import { routes, type FunctionName } from '../helpers/demo-routes.js';
import { createLocalGateway, type LocalGateway, type LocalGatewayOptions, type ProxyHandler } from '../../lib/local/gateway.js';
import { testContext, type TestContext } from '../helpers/test-context.js';

const t = testContext();

const TOKEN = 'Bearer aaaa.bbbb.cccc';
const OTHER = 'Bearer xxxx.yyyy.zzzz';
const ARN = 'arn:aws:execute-api:us-east-1:123456789012:local/local/';
const UNAUTHORIZED = '{"message":"Unauthorized"}';

type AuthorizerFn = (event: APIGatewayTokenAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;

const allow = (effect: 'Allow' | 'Deny' = 'Allow'): AuthorizerFn => async () => ({
  principalId: 'user-1',
  policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: `${ARN}*` }] },
});

interface Harness {
  gw: LocalGateway;
  url: string;
  port: number;
  events: APIGatewayProxyEvent[];
  authorizerEvents: APIGatewayTokenAuthorizerEvent[];
  /** Resolves at the first authorizer invocation. */
  authorizerCalled: Promise<void>;
}

async function start(
  t: TestContext,
  options: Partial<Omit<LocalGatewayOptions, 'authorizer' | 'handlers'>> & { authorizer?: AuthorizerFn } = {},
): Promise<Harness> {
  const events: APIGatewayProxyEvent[] = [];
  const authorizerEvents: APIGatewayTokenAuthorizerEvent[] = [];
  let signal: () => void = () => {};
  const authorizerCalled = new Promise<void>((resolve) => (signal = resolve));
  const { authorizer = allow(), ...rest } = options;
  const handler: ProxyHandler = async (event) => {
    events.push(event);
    return { statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: '{"ok":true}' };
  };
  const handlers = Object.fromEntries(routes.map((r) => [r.handler, handler])) as Record<FunctionName, ProxyHandler>;
  const gw = createLocalGateway({
    routes,
    authorizerCacheTtlSeconds: 0,
    clock: new ManualClock(),
    ...rest,
    handlers,
    authorizer: async (event) => {
      authorizerEvents.push(event);
      signal();
      return authorizer(event);
    },
  });
  const { url, port } = await gw.listen(0);
  t.after(() => gw.close());
  return { gw, url, port, events, authorizerEvents, authorizerCalled };
}

interface RawResponse {
  status: number;
  /** Lower-cased names. */
  headers: Record<string, string>;
  body: string;
}

/** A raw client connection that reads responses one at a time. */
class RawClient {
  private buffer = '';
  private waiter: (() => void) | undefined;
  readonly closed: Promise<void>;
  private constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.waiter?.();
    });
    socket.on('error', () => {}); // a reset shows up as 'close'
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    void this.closed.then(() => this.waiter?.());
  }

  static open(port: number, localAddress?: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) }, () => {
        socket.off('error', reject);
        resolve(new RawClient(socket));
      });
      socket.once('error', reject);
    });
  }

  write(text: string): void {
    this.socket.write(text, 'latin1');
  }

  /** The next complete response (Content-Length framed), or undefined if the connection closes first. */
  async response(): Promise<RawResponse | undefined> {
    for (;;) {
      const parsed = this.take();
      if (parsed) return parsed;
      if (this.socket.destroyed || this.socket.readableEnded) return undefined;
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.waiter = undefined;
    }
  }

  /** Whatever the server sent, once it has closed the connection. */
  async rest(): Promise<string> {
    await this.closed;
    return this.buffer;
  }

  private take(): RawResponse | undefined {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const [statusLine = '', ...lines] = this.buffer.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    if (this.buffer.length < end + 4 + length) return undefined;
    const body = this.buffer.slice(end + 4, end + 4 + length);
    this.buffer = this.buffer.slice(end + 4 + length);
    return { status: Number(statusLine.split(' ')[1]), headers, body };
  }

  destroy(): void {
    this.socket.destroy();
  }
}

async function rawClient(t: TestContext, h: Harness, localAddress?: string): Promise<RawClient> {
  const client = await RawClient.open(h.port, localAddress);
  t.after(() => client.destroy());
  return client;
}

describe('one identity source per request', () => {
  test('two Authorization headers on a protected route: 401, neither the authorizer nor the function runs', async () => {
    const h = await start(t);
    for (const [first, second] of [
      [TOKEN, OTHER],
      [TOKEN, TOKEN],
      ['', TOKEN],
    ]) {
      const c = await rawClient(t, h);
      c.write(`GET /orders HTTP/1.1\r\nHost: x\r\nAuthorization: ${first}\r\nauthorization: ${second}\r\n\r\n`);
      const r = await c.response();
      assert.equal(r?.status, 401);
      assert.equal(r?.body, UNAUTHORIZED);
      assert.equal(r?.headers['x-amzn-errortype'], 'UnauthorizedException');
    }
    assert.equal(h.authorizerEvents.length, 0);
    assert.equal(h.events.length, 0);
  }, 10_000);

  test('with one Authorization header the authorizer and the function see the same value', async () => {
    const h = await start(t);
    const c = await rawClient(t, h);
    c.write(`GET /orders HTTP/1.1\r\nHost: x\r\nAUTHORIZATION: ${TOKEN}\r\n\r\n`);
    assert.equal((await c.response())?.status, 200);
    assert.equal(h.authorizerEvents[0]?.authorizationToken, TOKEN);
    assert.equal(h.events[0]?.headers.Authorization, TOKEN);
    assert.deepEqual(h.events[0]?.multiValueHeaders.Authorization, [TOKEN]);
  }, 10_000);

  test('a public route has no identity source: repeated Authorization headers reach the function as sent', async () => {
    const h = await start(t);
    const c = await rawClient(t, h);
    c.write(`GET /.well-known/jwks.json HTTP/1.1\r\nHost: x\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n`);
    assert.equal((await c.response())?.status, 200);
    assert.deepEqual(h.events[0]?.multiValueHeaders.Authorization, ['a', 'b']);
    assert.equal(h.authorizerEvents.length, 0);
  }, 10_000);
});

describe('the authorizer runs before the body is read', () => {
  test('no token: 401 while the declared body has not been sent, and the connection is closed', async () => {
    const h = await start(t);
    const c = await rawClient(t, h);
    c.write('POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"part');
    const r = await c.response();
    assert.equal(r?.status, 401);
    assert.equal(r?.body, UNAUTHORIZED);
    assert.equal(r?.headers.connection, 'close');
    await c.closed; // the server hangs up instead of draining the body
    assert.equal(h.events.length, 0);
  }, 10_000);

  test('a denied token: 403 from the authorizer while the chunked body is still streaming', async () => {
    const h = await start(t, { authorizer: allow('Deny') });
    const c = await rawClient(t, h);
    c.write(`POST /orders HTTP/1.1\r\nHost: x\r\nAuthorization: ${TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`);
    const r = await c.response();
    assert.equal(r?.status, 403);
    assert.equal(r?.headers.connection, 'close');
    await c.closed;
    assert.equal(h.authorizerEvents.length, 1);
    assert.equal(h.events.length, 0);
  }, 10_000);

  test('an allowed token: the authorizer answers first, then the body is read in full for the function', async () => {
    const h = await start(t);
    const c = await rawClient(t, h);
    c.write(`POST /orders HTTP/1.1\r\nHost: x\r\nAuthorization: ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n`);
    await h.authorizerCalled; // the body has not been sent yet
    c.write('{"item":"widget"}');
    const r = await c.response();
    assert.equal(r?.status, 200);
    assert.equal(h.events[0]?.body, '{"item":"widget"}');
  }, 10_000);

  test('an allowed token with a body streaming past the limit: 413 as soon as it crosses, before the client ends it', async () => {
    const h = await start(t, { maxBodyBytes: 1024 });
    const c = await rawClient(t, h);
    const chunk = 'x'.repeat(600);
    c.write(`POST /orders HTTP/1.1\r\nHost: x\r\nAuthorization: ${TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n`);
    await h.authorizerCalled;
    c.write(`258\r\n${chunk}\r\n`);
    c.write(`258\r\n${chunk}\r\n`); // 1200 bytes > 1024; the terminating chunk is never sent
    const r = await c.response();
    assert.equal(r?.status, 413);
    assert.equal(r?.body, '{"message":"Request Too Long"}');
    assert.equal(r?.headers.connection, 'close');
    await c.closed;
    assert.equal(h.events.length, 0);
  }, 10_000);
});

describe('server limits', () => {
  test('headers not complete within headersTimeoutMs: 408 and the connection is closed', async () => {
    const h = await start(t, { headersTimeoutMs: 200, requestTimeoutMs: 5_000 });
    const c = await rawClient(t, h);
    c.write('GET /.well-known/jwks.json HTTP/1.1\r\nHost: x\r\n'); // the blank line never comes
    assert.match(await c.rest(), /^HTTP\/1\.1 408 /);
  }, 10_000);

  test('a body not complete within requestTimeoutMs: 408, the function is not invoked', async () => {
    const h = await start(t, { headersTimeoutMs: 200, requestTimeoutMs: 300 });
    const c = await rawClient(t, h);
    c.write('POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{"us');
    assert.match(await c.rest(), /^HTTP\/1\.1 408 /);
    assert.equal(h.events.length, 0);
  }, 10_000);

  // Node's default is 5 s: this test's own timeout is below it.
  test('an idle keep-alive connection is closed after keepAliveTimeoutMs', async () => {
    const h = await start(t, { keepAliveTimeoutMs: 100 });
    const c = await rawClient(t, h);
    c.write('GET /.well-known/jwks.json HTTP/1.1\r\nHost: x\r\n\r\n');
    const r = await c.response();
    assert.equal(r?.status, 200);
    await c.closed;
  }, 3_000);

  test('request headers over maxHeaderBytes (API Gateway: 10240 bytes) are refused with 431', async () => {
    const h = await start(t);
    const send = (size: number): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = httpRequest(`${h.url}/.well-known/jwks.json`, { headers: { 'x-pad': 'a'.repeat(size) } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    assert.equal(await send(9_000), 200);
    assert.equal(await send(11_000), 431);
    assert.equal(await send(100), 200);
  }, 10_000);

  test('connections beyond maxConnections are closed at once, without a response; open ones keep working', async () => {
    const h = await start(t, { maxConnections: 2 });
    const get = 'GET /.well-known/jwks.json HTTP/1.1\r\nHost: x\r\n\r\n';
    const a = await rawClient(t, h);
    a.write(get);
    assert.equal((await a.response())?.status, 200);
    const b = await rawClient(t, h);
    b.write(get);
    assert.equal((await b.response())?.status, 200);

    const c = await rawClient(t, h);
    c.write(get);
    assert.equal(await c.response(), undefined);
    assert.equal(await c.rest(), '');
    assert.equal(h.gw.connections.dropped, 1);

    a.write(get);
    assert.equal((await a.response())?.status, 200);
    assert.equal(h.gw.connections.open, 2);
  }, 10_000);

  test('a headers timeout longer than the request timeout is a configuration error', () => {
    assert.throws(
      () =>
        createLocalGateway({
          routes: [],
          handlers: {} as Record<FunctionName, ProxyHandler>,
          authorizer: allow(),
          authorizerCacheTtlSeconds: 0,
          headersTimeoutMs: 2_000,
          requestTimeoutMs: 1_000,
        }),
      /headersTimeoutMs/,
    );
  });
});

describe('sourceIp', () => {
  test('is the TCP peer address; a client-sent X-Forwarded-For is kept in the header but not trusted', async () => {
    const h = await start(t);
    const c = await rawClient(t, h, '127.0.0.2');
    c.write(`GET /orders HTTP/1.1\r\nHost: x\r\nAuthorization: ${TOKEN}\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n`);
    assert.equal((await c.response())?.status, 200);
    const e = h.events[0] as APIGatewayProxyEvent;
    assert.equal(e.requestContext.identity.sourceIp, '127.0.0.2');
    assert.equal(e.headers['X-Forwarded-For'], '203.0.113.9, 127.0.0.2');
  }, 10_000);
});
