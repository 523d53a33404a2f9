/**
 * HTTP requests from a chosen local source address. Linux routes all of 127.0.0.0/8 to the loopback
 * interface, so a test can act as many different clients (127.0.0.2, 127.0.0.3, …) against a server on
 * 127.0.0.1; the local gateway takes `requestContext.identity.sourceIp` from the TCP peer, as API Gateway does.
 */
import { request } from 'node:http';

export interface AddressedReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/** POST a JSON body to `baseUrl + path` from `localAddress` (a fresh connection, no keep-alive). */
export function postFrom(baseUrl: string, path: string, body: unknown, localAddress: string): Promise<AddressedReply> {
  const url = new URL(path, baseUrl);
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        localAddress,
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text === '' ? undefined : JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Counts PasswordHasher.verify calls (every password actually checked) while installed. */
export function countVerifications<T extends { prototype: { verify: (...a: any[]) => Promise<boolean> } }>(
  hasherClass: T,
): { readonly count: number; restore(): void } {
  const proto = hasherClass.prototype;
  const original = proto.verify;
  let count = 0;
  proto.verify = async function (this: unknown, ...args: unknown[]) {
    count++;
    return original.apply(this, args);
  };
  return {
    get count() {
      return count;
    },
    restore: () => {
      proto.verify = original;
    },
  };
}
