/**
 * Deployment settings: CDK context (`-c tokengate:<name>=…` or cdk.json) overlaid by stack props, validated
 * once at synth time. A bad value stops the synth with a message naming the key; nothing is silently defaulted
 * that matters for security.
 *
 * Context values from the command line arrive as strings ("300", "true", "https://a.example,https://b.example"),
 * values from cdk.json as JSON; both are accepted.
 *
 * Identity settings (issuer, audience, CORS origins, signing keys) must not change by accident: a token carries
 * the issuer and audience it was issued for, and a key list that loses a name retires that key. So when the app
 * runs under the CDK CLI they are taken only from the project's files (cdk.json or cdk.context.json): a value
 * that reached the app some other way (`-c` on the command line, ~/.cdk.json) stops the synth, because the next
 * plain `cdk deploy` would silently put the files' value back. And the example identity the sample app ships
 * (an issuer under a reserved example domain, the placeholder audience) is refused unless
 * `tokengate:allowExampleIdentity` is set — which `npm run synth` (offline checks) and the tests do; a template
 * synthesized that way carries a rule whose assertion fails on its parameter's default, so CloudFormation refuses
 * to create or update the stack from it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { CfnParameter, CfnRule, Fn, Stack } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

export const CONTEXT_PREFIX = 'tokengate:';

/** Settings that define which tokens are valid: changing them invalidates or retires tokens. */
export const IDENTITY_SETTINGS = ['issuer', 'audience', 'corsAllowOrigins', 'signingKeys', 'activeSigningKey'] as const;

/** The audience the sample app's cdk.json ships with: a placeholder, never a deployment's own. */
export const EXAMPLE_AUDIENCES: readonly string[] = ['tokengate-api'];

/**
 * Host names reserved for documentation and tests (RFC 2606, RFC 6761): an issuer there is an example.
 */
export function isExampleHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  const tld = host.slice(host.lastIndexOf('.') + 1);
  return (
    ['example', 'test', 'invalid', 'localhost'].includes(tld) ||
    /(^|\.)example\.(com|net|org)$/.test(host) ||
    host === 'localhost'
  );
}

export interface TokengateSettings {
  /** `iss` of every access token; an https URL. @default none (required) */
  readonly issuer: string;
  /** `aud` of every access token. @default none (required) */
  readonly audience: string;
  /** @default 900 */
  readonly accessTokenTtlSeconds: number;
  /** Absolute session lifetime. @default 2592000 (30 days) */
  readonly refreshTokenTtlSeconds: number;
  /** A retried refresh within this window is not treated as reuse. @default 0 (off) */
  readonly refreshReuseGraceSeconds: number;
  /** Tolerated clock skew for iat/nbf/exp. @default 5 */
  readonly clockLeewaySeconds: number;
  /**
   * API Gateway caches the authorizer's answer per token this long (0 disables the cache). It bounds how late
   * a logout takes effect, and how long after `exp` a cached Allow may still be served, so it may not exceed
   * the access-token TTL. @default 300
   */
  readonly authorizerCacheTtlSeconds: number;
  /** The authorizer's in-memory cache of session lookups. @default 30 */
  readonly revocationCacheTtlSeconds: number;
  /**
   * Browser origins allowed to call the API (`https://host[:port]`, or `http://localhost[:port]`).
   * Empty: no CORS at all. `*` is refused because credentials (cookie mode) are allowed.
   * @default []
   */
  readonly corsAllowOrigins: readonly string[];
  /** Stage-wide steady-state requests per second. @default 100 */
  readonly throttlingRateLimit: number;
  /** @default 200 */
  readonly throttlingBurstLimit: number;
  /** POST /auth/login only: each call costs an scrypt hash. @default 10 */
  readonly loginThrottlingRateLimit: number;
  /** @default 20 */
  readonly loginThrottlingBurstLimit: number;
  /** X-Ray on the stage and every function. @default false */
  readonly tracing: boolean;
  /**
   * Logical names of the signing keys (letters, digits, `-`), in publication order. All are published in the
   * JWKS; only `activeSigningKey` signs. Renaming a key replaces it: add and remove names instead.
   * @default ['primary']
   */
  readonly signingKeys: readonly string[];
  /** @default the only key when there is one; required when there are several */
  readonly activeSigningKey: string;
  /** CloudWatch Logs retention for functions and access logs (a value CloudWatch accepts). @default 30 */
  readonly logRetentionDays: RetentionDays;
  /** What `cdk destroy` does with the table (the signing keys are always retained). @default 'retain' */
  readonly tableRemovalPolicy: 'retain' | 'destroy';
  /** API Gateway stage; part of every URL (`…/prod/auth/login`). @default 'prod' */
  readonly stageName: string;
  /**
   * Path of the refresh-token cookie (cookie mode). Set it to `/auth` when a custom domain maps the API at
   * the root. @default `/<stageName>/auth`
   */
  readonly refreshCookiePath?: string;
  /** WAFv2 web ACL (REGIONAL scope) to associate with the stage. @default none */
  readonly webAclArn?: string;
  /**
   * Creates a WAFv2 web ACL for the stage with one rate-based rule: an IP address that sends more than this
   * many requests to `/auth/*` (login, refresh, logout) within 5 minutes is answered 429 by WAF until its rate
   * drops. Costs money (docs/DEPLOY.md). Not with `webAclArn` (a stage has one web ACL: add the rule to yours).
   * @default none (no web ACL)
   */
  readonly wafRateLimitPerIp?: number;
  /**
   * Set API Gateway's account-level CloudWatch Logs role (`AWS::ApiGateway::Account`): one per account and
   * region, the last stack that sets it wins. Access and execution logs need a role there; turn this off when
   * the account already has one (`aws apigateway get-account` shows `cloudwatchRoleArn`) or your organisation
   * manages it. Off in an account without one, the stage fails to create (docs/DEPLOY.md). @default true
   */
  readonly manageAccountCloudWatchRole: boolean;
  /**
   * Accept the example issuer/audience (reserved example domains, the shipped placeholder audience) — for tests
   * and offline synth only: the template then carries a parameter CloudFormation refuses, so it cannot be
   * deployed. @default false
   */
  readonly allowExampleIdentity: boolean;
}

export type TokengateSettingsInput = Partial<TokengateSettings>;

export class TokengateConfigError extends Error {
  constructor(key: keyof TokengateSettings, problem: string, value: unknown) {
    super(`Invalid tokengate setting ${CONTEXT_PREFIX}${key}: ${problem} (got ${JSON.stringify(value)})`);
    this.name = 'TokengateConfigError';
  }
}

const DEFAULTS = {
  accessTokenTtlSeconds: 900,
  refreshTokenTtlSeconds: 2_592_000,
  refreshReuseGraceSeconds: 0,
  clockLeewaySeconds: 5,
  authorizerCacheTtlSeconds: 300,
  revocationCacheTtlSeconds: 30,
  corsAllowOrigins: [] as string[],
  throttlingRateLimit: 100,
  throttlingBurstLimit: 200,
  loginThrottlingRateLimit: 10,
  loginThrottlingBurstLimit: 20,
  tracing: false,
  signingKeys: ['primary'],
  logRetentionDays: RetentionDays.ONE_MONTH,
  tableRemovalPolicy: 'retain' as const,
  stageName: 'prod',
  manageAccountCloudWatchRole: true,
  allowExampleIdentity: false,
};

const KEYS: readonly (keyof TokengateSettings)[] = [
  'issuer', 'audience', 'accessTokenTtlSeconds', 'refreshTokenTtlSeconds', 'refreshReuseGraceSeconds',
  'clockLeewaySeconds', 'authorizerCacheTtlSeconds', 'revocationCacheTtlSeconds', 'corsAllowOrigins',
  'throttlingRateLimit', 'throttlingBurstLimit', 'loginThrottlingRateLimit', 'loginThrottlingBurstLimit',
  'tracing', 'signingKeys', 'activeSigningKey', 'logRetentionDays', 'tableRemovalPolicy', 'stageName',
  'refreshCookiePath', 'webAclArn', 'wafRateLimitPerIp', 'manageAccountCloudWatchRole', 'allowExampleIdentity',
];

export interface ResolveOptions {
  /**
   * The project directory whose cdk.json / cdk.context.json identity settings must come from.
   * @default the working directory when the app runs under the CDK CLI (env CDK_OUTDIR set), else unchecked
   */
  readonly projectDir?: string;
}

/**
 * Reads every `tokengate:*` context value, overlays `overrides`, validates, and fills in defaults. Under the CDK
 * CLI, identity settings from context must be the values of cdk.json or cdk.context.json (see the top of this
 * file). With `allowExampleIdentity` and an example issuer or audience, adds the parameter that makes the
 * template undeployable (to `scope`'s stack).
 */
export function resolveSettings(scope: Construct, overrides: TokengateSettingsInput = {}, options: ResolveOptions = {}): TokengateSettings {
  const raw: Partial<Record<keyof TokengateSettings, unknown>> = {};
  const fromContext = new Set<keyof TokengateSettings>();
  for (const key of KEYS) {
    const fromProps = overrides[key];
    if (fromProps !== undefined) raw[key] = fromProps;
    else {
      raw[key] = scope.node.tryGetContext(CONTEXT_PREFIX + key);
      if (raw[key] !== undefined) fromContext.add(key);
    }
  }
  const projectDir = options.projectDir ?? (process.env.CDK_OUTDIR ? process.cwd() : undefined);
  if (projectDir !== undefined) {
    assertIdentityFromProjectFiles(projectDir, (key) => (fromContext.has(key) ? raw[key] : undefined));
  }
  const settings = validateSettings(raw);
  if (usesExampleIdentity(settings)) markNotDeployable(scope);
  return settings;
}

/** Whether `settings` carry the example issuer or audience (only possible with `allowExampleIdentity`). */
export function usesExampleIdentity(settings: Pick<TokengateSettings, 'issuer' | 'audience'>): boolean {
  return isExampleHost(new URL(settings.issuer).hostname) || EXAMPLE_AUDIENCES.includes(settings.audience);
}

/** The parameter that makes a template synthesized with the example identity fail to deploy. */
export const NOT_DEPLOYABLE_PARAMETER = 'TokengateExampleIdentityNotDeployable';

function markNotDeployable(scope: Construct): void {
  const stack = Stack.of(scope);
  if (stack.node.tryFindChild(NOT_DEPLOYABLE_PARAMETER)) return;
  const reason =
    'tokengate: this template was synthesized with the example issuer/audience (tokengate:allowExampleIdentity, e.g. by npm run synth) and is not deployable: set your own tokengate:issuer and tokengate:audience in cdk.json and deploy without allowExampleIdentity';
  const parameter = new CfnParameter(stack, NOT_DEPLOYABLE_PARAMETER, {
    type: 'String',
    default: EXAMPLE_IDENTITY_MARK,
    description: 'tokengate: synthesized with the example issuer/audience (tokengate:allowExampleIdentity) for offline checks only',
  });
  // CloudFormation evaluates a template's rules against the parameters before it creates or changes anything:
  // with the default value this assertion fails, and create and update both stop with `reason`.
  new CfnRule(stack, 'TokengateExampleIdentityRule', {
    assertions: [{ assert: Fn.conditionNot(Fn.conditionEquals(parameter.valueAsString, EXAMPLE_IDENTITY_MARK)), assertDescription: reason }],
  });
}

const EXAMPLE_IDENTITY_MARK = 'example-identity';

/** cdk.json's `context` and cdk.context.json of `dir`, merged as the CLI merges them (cdk.context.json wins). */
function projectContext(dir: string): Record<string, unknown> {
  const read = (file: string, pick: (json: Record<string, unknown>) => unknown): Record<string, unknown> => {
    const path = join(dir, file);
    if (!existsSync(path)) return {};
    const value = pick(JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  };
  return { ...read('cdk.json', (j) => j.context), ...read('cdk.context.json', (j) => j) };
}

/**
 * Refuses identity settings whose context value is not the one in `dir`'s cdk.json / cdk.context.json (it came
 * from `-c` or ~/.cdk.json, and the next deploy without it would revert it). `contextValue` gives the value
 * the app received from context (undefined when the setting came from stack props, which are code).
 */
export function assertIdentityFromProjectFiles(dir: string, contextValue: (key: keyof TokengateSettings) => unknown): void {
  const files = projectContext(dir);
  for (const key of IDENTITY_SETTINGS) {
    const value = contextValue(key);
    if (value === undefined) continue;
    if (!isDeepStrictEqual(value, files[CONTEXT_PREFIX + key])) {
      throw new TokengateConfigError(
        key,
        'identity settings are read from cdk.json or cdk.context.json only: this value came from the command line (-c) or ~/.cdk.json, and the next deploy without it would silently revert it. Put it in cdk.json',
        value,
      );
    }
  }
}

/** Validates loosely typed input (context values) into settings. Exported for tests and tools. */
export function validateSettings(raw: Partial<Record<keyof TokengateSettings, unknown>>): TokengateSettings {
  const int = (key: keyof typeof DEFAULTS & keyof TokengateSettings, min: number, max: number): number => {
    const v = raw[key];
    if (v === undefined || v === null || v === '') return DEFAULTS[key] as number;
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new TokengateConfigError(key, `must be a whole number between ${min} and ${max}`, v);
    }
    return n;
  };
  const optionalInt = (key: 'wafRateLimitPerIp', min: number, max: number): number | undefined => {
    const v = raw[key];
    if (v === undefined || v === null || v === '') return undefined;
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new TokengateConfigError(key, `must be a whole number between ${min} and ${max}`, v);
    }
    return n;
  };
  const bool = (key: 'tracing' | 'manageAccountCloudWatchRole' | 'allowExampleIdentity'): boolean => {
    const v = raw[key];
    if (v === undefined || v === null || v === '') return DEFAULTS[key];
    if (v === true || v === 'true') return true;
    if (v === false || v === 'false') return false;
    throw new TokengateConfigError(key, 'must be true or false', v);
  };
  const str = (key: keyof TokengateSettings, required: boolean): string | undefined => {
    const v = raw[key];
    if (v === undefined || v === null || v === '') {
      if (required) throw new TokengateConfigError(key, 'is required', v);
      return undefined;
    }
    if (typeof v !== 'string' || v.trim() !== v || /\s/.test(v)) {
      throw new TokengateConfigError(key, 'must be a string without whitespace', v);
    }
    return v;
  };
  const list = (key: 'corsAllowOrigins' | 'signingKeys'): string[] => {
    const v = raw[key];
    if (v === undefined || v === null || v === '') return [...DEFAULTS[key]];
    let items: unknown = v;
    if (typeof v === 'string') {
      const t = v.trim();
      if (t.startsWith('[')) {
        try {
          items = JSON.parse(t);
        } catch {
          throw new TokengateConfigError(key, 'must be a JSON array of strings or a comma-separated list', v);
        }
      } else {
        items = t.split(',').map((s) => s.trim()).filter((s) => s !== '');
      }
    }
    if (!Array.isArray(items) || !items.every((x): x is string => typeof x === 'string')) {
      throw new TokengateConfigError(key, 'must be a list of strings', v);
    }
    return items;
  };

  const issuer = str('issuer', true) as string;
  let issuerUrl: URL | undefined;
  try {
    issuerUrl = new URL(issuer);
  } catch {
    issuerUrl = undefined;
  }
  if (!issuerUrl || issuerUrl.protocol !== 'https:' || issuerUrl.search !== '' || issuerUrl.hash !== '') {
    throw new TokengateConfigError('issuer', 'must be an https URL without query or fragment', issuer);
  }
  const audience = str('audience', true) as string;
  const allowExampleIdentity = bool('allowExampleIdentity');
  if (!allowExampleIdentity) {
    if (isExampleHost(issuerUrl.hostname)) {
      throw new TokengateConfigError(
        'issuer',
        'is an example (a reserved example/test domain): set the https URL of your own issuer in cdk.json (tokengate:allowExampleIdentity is for tests and offline synth only)',
        issuer,
      );
    }
    if (EXAMPLE_AUDIENCES.includes(audience)) {
      throw new TokengateConfigError(
        'audience',
        'is the placeholder the sample app ships with: set your own audience in cdk.json (tokengate:allowExampleIdentity is for tests and offline synth only)',
        audience,
      );
    }
  }

  const accessTokenTtlSeconds = int('accessTokenTtlSeconds', 60, 86_400);
  const refreshTokenTtlSeconds = int('refreshTokenTtlSeconds', 60, 31_536_000);
  if (refreshTokenTtlSeconds < accessTokenTtlSeconds) {
    throw new TokengateConfigError('refreshTokenTtlSeconds', 'must not be shorter than accessTokenTtlSeconds', refreshTokenTtlSeconds);
  }
  const refreshReuseGraceSeconds = int('refreshReuseGraceSeconds', 0, 300);
  const clockLeewaySeconds = int('clockLeewaySeconds', 0, 300);
  // API Gateway accepts 0..3600 for a TOKEN authorizer's result cache.
  const authorizerCacheTtlSeconds = int('authorizerCacheTtlSeconds', 0, 3600);
  if (authorizerCacheTtlSeconds > accessTokenTtlSeconds) {
    throw new TokengateConfigError(
      'authorizerCacheTtlSeconds',
      `must not exceed accessTokenTtlSeconds (${accessTokenTtlSeconds}): a cached Allow would outlive the token`,
      authorizerCacheTtlSeconds,
    );
  }
  const revocationCacheTtlSeconds = int('revocationCacheTtlSeconds', 0, 3600);

  const corsAllowOrigins = list('corsAllowOrigins');
  for (const origin of corsAllowOrigins) {
    if (!isOrigin(origin)) {
      throw new TokengateConfigError(
        'corsAllowOrigins',
        'each entry must be an origin like https://app.example.com (http only for localhost; no "*", path or trailing slash)',
        origin,
      );
    }
  }
  if (new Set(corsAllowOrigins).size !== corsAllowOrigins.length) {
    throw new TokengateConfigError('corsAllowOrigins', 'has duplicates', corsAllowOrigins);
  }

  // API Gateway: rate is a double, burst an integer; both bounded by the account limit (10000 by default).
  const throttlingRateLimit = int('throttlingRateLimit', 1, 10_000);
  const throttlingBurstLimit = int('throttlingBurstLimit', 1, 5_000);
  const loginThrottlingRateLimit = int('loginThrottlingRateLimit', 1, 10_000);
  const loginThrottlingBurstLimit = int('loginThrottlingBurstLimit', 1, 5_000);
  const tracing = bool('tracing');
  const manageAccountCloudWatchRole = bool('manageAccountCloudWatchRole');

  const signingKeys = list('signingKeys');
  if (signingKeys.length === 0 || signingKeys.length > 5) {
    throw new TokengateConfigError('signingKeys', 'must name between 1 and 5 keys', signingKeys);
  }
  for (const name of signingKeys) {
    if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/.test(name)) {
      throw new TokengateConfigError('signingKeys', 'names are 1-32 letters, digits or "-", starting with a letter or digit', name);
    }
  }
  if (new Set(signingKeys).size !== signingKeys.length) {
    throw new TokengateConfigError('signingKeys', 'has duplicates', signingKeys);
  }
  const activeSigningKey = str('activeSigningKey', signingKeys.length > 1) ?? (signingKeys[0] as string);
  if (!signingKeys.includes(activeSigningKey)) {
    throw new TokengateConfigError('activeSigningKey', `must be one of ${signingKeys.join(', ')}`, activeSigningKey);
  }

  const logRetentionDays = int('logRetentionDays', 1, 3653) as RetentionDays;
  if (!(Object.values(RetentionDays) as unknown[]).includes(logRetentionDays) || logRetentionDays === RetentionDays.INFINITE) {
    throw new TokengateConfigError('logRetentionDays', 'must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, …)', logRetentionDays);
  }
  const removal = str('tableRemovalPolicy', false) ?? DEFAULTS.tableRemovalPolicy;
  if (removal !== 'retain' && removal !== 'destroy') {
    throw new TokengateConfigError('tableRemovalPolicy', 'must be "retain" or "destroy"', removal);
  }
  const stageName = str('stageName', false) ?? DEFAULTS.stageName;
  if (!/^[A-Za-z0-9_]{1,128}$/.test(stageName)) {
    throw new TokengateConfigError('stageName', 'must be letters, digits or "_"', stageName);
  }
  const refreshCookiePath = str('refreshCookiePath', false);
  if (refreshCookiePath !== undefined && !/^\/[A-Za-z0-9_\-/.~]*$/.test(refreshCookiePath)) {
    throw new TokengateConfigError('refreshCookiePath', 'must be a URL path starting with "/"', refreshCookiePath);
  }
  const webAclArn = str('webAclArn', false);
  if (webAclArn !== undefined && !/^arn:aws[a-z-]*:wafv2:[a-z0-9-]+:\d{12}:regional\/webacl\/.+/.test(webAclArn)) {
    throw new TokengateConfigError('webAclArn', 'must be the ARN of a REGIONAL WAFv2 web ACL', webAclArn);
  }
  // WAF's bounds for a rate-based rule's limit (requests per evaluation window, here 5 minutes).
  const wafRateLimitPerIp = optionalInt('wafRateLimitPerIp', 10, 2_000_000_000);
  if (wafRateLimitPerIp !== undefined && webAclArn !== undefined) {
    throw new TokengateConfigError(
      'wafRateLimitPerIp',
      'cannot be combined with webAclArn: a stage takes one web ACL; add a rate-based rule to yours instead',
      wafRateLimitPerIp,
    );
  }

  return {
    issuer, audience, accessTokenTtlSeconds, refreshTokenTtlSeconds, refreshReuseGraceSeconds, clockLeewaySeconds,
    authorizerCacheTtlSeconds, revocationCacheTtlSeconds, corsAllowOrigins, throttlingRateLimit, throttlingBurstLimit,
    loginThrottlingRateLimit, loginThrottlingBurstLimit, tracing, signingKeys, activeSigningKey, logRetentionDays,
    tableRemovalPolicy: removal, stageName, ...(refreshCookiePath ? { refreshCookiePath } : {}),
    ...(webAclArn ? { webAclArn } : {}),
    ...(wafRateLimitPerIp !== undefined ? { wafRateLimitPerIp } : {}),
    manageAccountCloudWatchRole, allowExampleIdentity,
  };
}

function isOrigin(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  const localhost = url.hostname === 'localhost' || url.hostname === '127.0.0.1';
  const schemeOk = url.protocol === 'https:' || (url.protocol === 'http:' && localhost);
  // An origin is scheme://host[:port] exactly: URL.origin normalises, so a match means nothing else was given.
  return schemeOk && url.origin === value;
}
