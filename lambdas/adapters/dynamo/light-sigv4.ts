/**
 * AWS Signature Version 4 for one JSON POST (the DynamoDB protocol), over node:crypto only.
 *
 * Why hand-written: the authorizer's only AWS call is one BatchGetItem per session per cache window, and
 * loading @aws-sdk/client-dynamodb costs more than the rest of its cold start together (docs/BENCHMARKS.md).
 * The algorithm is small and fixed (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html);
 * test/integration/light-dynamo.test.ts checks it against AWS's published test vectors and against the SDK's
 * own signer.
 */
import { createHash, createHmac } from 'node:crypto';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SignableRequest {
  method: string;
  host: string;
  /** Absolute path, already URI-encoded as it goes on the wire (DynamoDB: `/`). */
  path: string;
  /** Canonical query string (parameters sorted and encoded), or ''. */
  query?: string;
  /** Header names in any case; values are trimmed and inner spaces collapsed for signing. `host` is added. */
  headers: Record<string, string>;
  body: string;
}

const sha256Hex = (data: string): string => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

/** `20150830T123600Z` from a Date. */
export const amzDate = (d: Date): string => d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

/** Derives and remembers the signing key of the current day (it changes once a day, not per request). */
export class SigV4Signer {
  private cachedScope = '';
  private cachedKey: Buffer = Buffer.alloc(0);

  constructor(
    private readonly credentials: AwsCredentials,
    private readonly region: string,
    private readonly service: string,
  ) {}

  private signingKey(day: string): Buffer {
    const scope = `${day}/${this.region}/${this.service}`;
    if (scope !== this.cachedScope) {
      const kDate = hmac(`AWS4${this.credentials.secretAccessKey}`, day);
      this.cachedKey = hmac(hmac(hmac(kDate, this.region), this.service), 'aws4_request');
      this.cachedScope = scope;
    }
    return this.cachedKey;
  }

  /**
   * Returns the headers to send: the given ones plus `host`, `x-amz-date`, `x-amz-security-token` (with
   * temporary credentials) and `authorization`. Every header given is signed.
   */
  sign(req: SignableRequest, now: Date = new Date()): Record<string, string> {
    const date = amzDate(now);
    const day = date.slice(0, 8);
    const headers: Record<string, string> = { ...req.headers, host: req.host, 'x-amz-date': date };
    if (this.credentials.sessionToken) headers['x-amz-security-token'] = this.credentials.sessionToken;

    const canonical: [string, string][] = Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v.trim().replace(/\s+/g, ' ')]);
    canonical.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const signedHeaders = canonical.map(([k]) => k).join(';');
    const canonicalRequest = [
      req.method,
      req.path,
      req.query ?? '',
      canonical.map(([k, v]) => `${k}:${v}\n`).join(''),
      signedHeaders,
      sha256Hex(req.body),
    ].join('\n');
    const scope = `${day}/${this.region}/${this.service}/aws4_request`;
    const stringToSign = `AWS4-HMAC-SHA256\n${date}\n${scope}\n${sha256Hex(canonicalRequest)}`;
    const signature = createHmac('sha256', this.signingKey(day)).update(stringToSign, 'utf8').digest('hex');
    headers.authorization =
      `AWS4-HMAC-SHA256 Credential=${this.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return headers;
  }
}
