/**
 * A minimal DynamoDB client: one signed JSON POST per call over a keep-alive connection (node:https, or
 * node:http for a local endpoint). It exists for the authorizer, whose cold start it keeps free of the AWS SDK
 * (see docs/BENCHMARKS.md for the measurements); the other functions use @aws-sdk/client-dynamodb.
 *
 * What it does, like the SDK client the other adapters use (`maxAttempts: 2`): SigV4 with the function's
 * credentials, one retry after a network error, a timeout, a 5xx or a throttling error, and errors named by
 * their DynamoDB type. What it leaves out: credential providers other than the environment (a Lambda function
 * always has its role's credentials there), clock-skew correction and endpoint discovery.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { ConfigError } from '../../core/errors.js';
import { type AwsCredentials, SigV4Signer } from './light-sigv4.js';

export interface LightDynamoOptions {
  region: string;
  /** Override (local store); default `https://dynamodb.<region>.amazonaws.com`. */
  endpoint?: string;
  credentials: AwsCredentials;
  /**
   * Per attempt. Two attempts must fit in the authorizer's 3 s Lambda timeout with room to answer, so that a
   * hung store ends as our fail-closed error rather than a function timeout. @default 1000
   */
  timeoutMs?: number;
  /** @default 2, as the SDK client of the other adapters */
  maxAttempts?: number;
}

/** A DynamoDB error answer (`name` is the type without its namespace) or a transport failure (`status` 0). */
export class LightDynamoError extends Error {
  constructor(
    name: string,
    message: string,
    readonly status: number,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = name;
  }
}

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'LimitExceededException',
]);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Credentials from the Lambda environment; a local endpoint accepts any (as the SDK adapter's `local`). */
export function credentialsFromEnv(env: Readonly<Record<string, string | undefined>>, local: boolean): AwsCredentials {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (accessKeyId && secretAccessKey) {
    return { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
  }
  if (local) return { accessKeyId: 'local', secretAccessKey: 'local' };
  throw new ConfigError('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are required (the Lambda runtime sets them)');
}

export class LightDynamoClient {
  /** HTTP requests sent, retries included (for tests and the benchmark: count, don't estimate). */
  requests = 0;

  private readonly signer: SigV4Signer;
  private readonly url: URL;
  private readonly secure: boolean;
  private readonly agent: HttpAgent;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;

  constructor(opts: LightDynamoOptions) {
    this.url = new URL(opts.endpoint ?? `https://dynamodb.${opts.region}.amazonaws.com`);
    this.secure = this.url.protocol === 'https:';
    if (!this.secure && this.url.protocol !== 'http:') throw new ConfigError(`DynamoDB endpoint must be http(s): ${this.url.href}`);
    this.signer = new SigV4Signer(opts.credentials, opts.region, 'dynamodb');
    const agentOptions = { keepAlive: true, maxSockets: 50 };
    this.agent = this.secure ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
    this.timeoutMs = opts.timeoutMs ?? 1000;
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 2);
  }

  /** Calls operation `op` (e.g. `BatchGetItem`) with the JSON `input`; resolves to the parsed answer. */
  async call<T>(op: string, input: unknown): Promise<T> {
    const body = JSON.stringify(input);
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.send(op, body)) as T;
      } catch (err) {
        const retryable = !(err instanceof LightDynamoError) || err.retryable;
        if (!retryable || attempt >= this.maxAttempts) throw err;
        await sleep(Math.floor(Math.random() * 50));
      }
    }
  }

  /** Closes idle keep-alive connections. */
  destroy(): void {
    this.agent.destroy();
  }

  private send(op: string, body: string): Promise<unknown> {
    const headers = this.signer.sign({
      method: 'POST',
      host: this.url.host,
      path: '/',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': `DynamoDB_20120810.${op}`,
      },
      body,
    });
    headers['content-length'] = String(Buffer.byteLength(body));
    this.requests++;
    return new Promise((resolve, reject) => {
      const options = {
        method: 'POST',
        hostname: this.url.hostname,
        port: this.url.port || (this.secure ? 443 : 80),
        path: '/',
        headers,
        agent: this.agent,
        timeout: this.timeoutMs,
      };
      const onResponse = (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          let parsed: unknown;
          try {
            parsed = text === '' ? {} : JSON.parse(text);
          } catch {
            return reject(new LightDynamoError('InvalidResponse', `unparseable answer (HTTP ${status})`, status, status >= 500));
          }
          if (status === 200) return resolve(parsed);
          const p = parsed as { __type?: unknown; message?: unknown; Message?: unknown };
          const type = typeof p.__type === 'string' ? p.__type.slice(p.__type.lastIndexOf('#') + 1) : `Http${status}`;
          const message = typeof p.message === 'string' ? p.message : typeof p.Message === 'string' ? p.Message : type;
          reject(new LightDynamoError(type, message, status, status >= 500 || THROTTLING.has(type)));
        });
      };
      const req = this.secure ? httpsRequest(options, onResponse) : httpRequest(options, onResponse);
      req.on('timeout', () => req.destroy(new LightDynamoError('TimeoutError', `no answer within ${this.timeoutMs} ms`, 0, true)));
      req.on('error', (err: NodeJS.ErrnoException) =>
        reject(err instanceof LightDynamoError ? err : new LightDynamoError(err.code ?? 'NetworkError', err.message, 0, true)),
      );
      req.end(body);
    });
  }
}
