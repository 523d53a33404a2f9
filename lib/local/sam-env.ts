/**
 * `sam local invoke` against the synthesized stack: the `--env-vars` file that points every function at the local
 * store, key, issuer and gateway, and the template SAM needs for it.
 *
 * SAM passes a function only the variables its template declares, and replaces their values with the file's
 * (variables the template does not declare are ignored). The functions' deployed variables (TABLE_NAME,
 * JWKS_JSON, TOKEN_ISSUER, SIGNER, …) are all declared, but reaching the local store and signing with the local
 * key need three that a deployed function must not have: DYNAMODB_ENDPOINT (and the SDK's own
 * AWS_ENDPOINT_URL_DYNAMODB) and SIGNING_KEY_PEM. So next to the env file goes `<stack>.local.template.json`:
 * the synthesized template unchanged except that those variables are declared, empty. The deployed template
 * never has them.
 *
 * Which function is which comes from the template itself: the API's methods name the function behind each route,
 * the TOKEN authorizer names its function, and a variable that refers to a DynamoDB table gets the local name of
 * that table.
 */
import { dirname, isAbsolute, join } from 'node:path';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface Resource {
  Type: string;
  Properties?: Record<string, Json>;
  Metadata?: Record<string, Json>;
}
export interface CfnTemplate {
  Resources: Record<string, Resource>;
  [key: string]: unknown;
}

export interface TemplateFunction {
  logicalId: string;
  /** `index.handler` for the functions the stack bundles. */
  handler: string;
  runtime: string | undefined;
  /** Absolute path of the function's code (the asset directory), when the template names one. */
  assetDir: string | undefined;
  /** Code bundled by the stack's esbuild (`aws:asset:is-bundled`), not a library's own handler. */
  bundled: boolean;
  variables: Record<string, Json>;
  /** It is the API's TOKEN authorizer. */
  authorizer: boolean;
  /** The API routes it serves (`/orders/{id}`), from the template's methods and resources. */
  routes: { method: string; path: string }[];
}

const TABLE_TYPES = new Set(['AWS::DynamoDB::Table', 'AWS::DynamoDB::GlobalTable']);
/** Variables the local environment adds: declared (empty) in the local template so SAM passes them. */
export const LOCAL_ONLY = { endpoint: ['DYNAMODB_ENDPOINT', 'AWS_ENDPOINT_URL_DYNAMODB'], key: 'SIGNING_KEY_PEM' } as const;

const isObject = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every `Fn::GetAtt: [id, 'Arn']` inside a value (an integration URI names its function this way). */
function arnTargets(value: unknown, out: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) for (const v of value) arnTargets(v, out);
  else if (isObject(value)) {
    const att = value['Fn::GetAtt'];
    if (Array.isArray(att) && att[1] === 'Arn' && typeof att[0] === 'string') out.add(att[0]);
    for (const v of Object.values(value)) arnTargets(v, out);
  }
  return out;
}

/** The functions of a template, with their code, variables and what they serve. */
export function readTemplateFunctions(template: CfnTemplate, templateFile: string): TemplateFunction[] {
  const resources = template.Resources ?? {};
  const parentPath = (ref: Json | undefined, depth = 0): string => {
    if (!isObject(ref) || depth > 50) return '';
    if (Array.isArray(ref['Fn::GetAtt'])) return ''; // the API's root resource
    const id = ref.Ref;
    const r = typeof id === 'string' ? resources[id] : undefined;
    if (!r || r.Type !== 'AWS::ApiGateway::Resource') return '';
    return `${parentPath(r.Properties?.ParentId, depth + 1)}/${String(r.Properties?.PathPart ?? '')}`;
  };
  const routesOf = new Map<string, { method: string; path: string }[]>();
  const authorizers = new Set<string>();
  for (const r of Object.values(resources)) {
    if (r.Type === 'AWS::ApiGateway::Method' && r.Properties) {
      const integration = r.Properties.Integration;
      for (const fn of arnTargets(isObject(integration) ? integration.Uri : undefined)) {
        const list = routesOf.get(fn) ?? [];
        list.push({ method: String(r.Properties.HttpMethod), path: parentPath(r.Properties.ResourceId) || '/' });
        routesOf.set(fn, list);
      }
    }
    if (r.Type === 'AWS::ApiGateway::Authorizer' && r.Properties?.Type === 'TOKEN') {
      for (const fn of arnTargets(r.Properties.AuthorizerUri)) authorizers.add(fn);
    }
  }
  const base = dirname(templateFile);
  return Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
    .map(([logicalId, r]) => {
      const asset = r.Metadata?.['aws:asset:path'];
      const env = r.Properties?.Environment;
      return {
        logicalId,
        handler: String(r.Properties?.Handler ?? ''),
        runtime: typeof r.Properties?.Runtime === 'string' ? r.Properties.Runtime : undefined,
        assetDir: typeof asset === 'string' ? (isAbsolute(asset) ? asset : join(base, asset)) : undefined,
        bundled: r.Metadata?.['aws:asset:is-bundled'] === true,
        variables: isObject(env) && isObject(env.Variables) ? { ...env.Variables } : {},
        authorizer: authorizers.has(logicalId),
        routes: routesOf.get(logicalId) ?? [],
      };
    });
}

export interface LocalValues {
  /** Local name of the stack's session table (lib/local/stack.ts LOCAL_TABLE). */
  sessionTable: string;
  /** Local names of other tables by logical id (a team's own tables), when they differ from the default. */
  tables?: Record<string, string>;
  /** Local names of the app's service tables, by the environment variable that carries the name (ORDERS_TABLE). */
  serviceTables?: Record<string, string>;
  /** The local store, as the functions reach it. */
  endpoint: string;
  jwksJson: string;
  issuer: string;
  audience: string;
  /** PKCS#8 PEM of the local signing key (local only: never a deployed key). */
  signingKeyPem: string;
  /** The local gateway's URL, for variables that hold the API's URL. */
  apiUrl: string;
  region?: string;
}

export interface SamEnv {
  /** `--env-vars` file content: logical id → every variable the function gets. */
  env: Record<string, Record<string, string>>;
  /** The template for `sam local invoke -t`: the synthesized one plus the local-only declarations. */
  template: CfnTemplate;
  warnings: string[];
}

/** The table the session variables name: the authorizer's TABLE_NAME, else the first TABLE_NAME of any function. */
function sessionTableId(fns: readonly TemplateFunction[]): string | undefined {
  const refOf = (f: TemplateFunction | undefined) => {
    const v = f?.variables.TABLE_NAME;
    return isObject(v) && typeof v.Ref === 'string' ? v.Ref : undefined;
  };
  return refOf(fns.find((f) => f.authorizer)) ?? fns.map(refOf).find((x) => x !== undefined);
}

/** Renders an `Fn::Join` enough to recognise the API's URL (`https://<api>.execute-api.<region>.<suffix>/<stage>/…`). */
function render(value: Json, template: CfnTemplate): string | undefined {
  if (typeof value === 'string') return value;
  if (!isObject(value)) return undefined;
  if (Array.isArray(value['Fn::Join'])) {
    const [sep, parts] = value['Fn::Join'] as [string, Json[]];
    const rendered = (Array.isArray(parts) ? parts : []).map((p) => render(p, template));
    return rendered.every((p) => p !== undefined) ? rendered.join(typeof sep === 'string' ? sep : '') : undefined;
  }
  if (typeof value.Ref === 'string') {
    if (value.Ref === 'AWS::Region') return 'region';
    if (value.Ref === 'AWS::URLSuffix') return 'amazonaws.com';
    const r = template.Resources[value.Ref];
    if (r?.Type === 'AWS::ApiGateway::Stage') return String(r.Properties?.StageName ?? 'stage');
    return value.Ref;
  }
  return undefined;
}

const API_URL = /^https:\/\/[^/]+\.execute-api\.[^/]+\/[^/]+/;

/** The env file and the local template for every function of `template`. */
export function buildSamEnv(template: CfnTemplate, templateFile: string, local: LocalValues): SamEnv {
  const fns = readTemplateFunctions(template, templateFile);
  const sessionTable = sessionTableId(fns);
  const warnings: string[] = [];
  const env: Record<string, Record<string, string>> = {};
  const out = structuredClone(template);
  const region = local.region ?? 'us-east-1';

  for (const fn of fns) {
    const vars: Record<string, string> = {};
    let usesTable = false;
    for (const [name, value] of Object.entries(fn.variables)) {
      if (name === 'TOKEN_ISSUER') vars[name] = local.issuer;
      else if (name === 'TOKEN_AUDIENCE') vars[name] = local.audience;
      else if (name === 'JWKS_JSON') vars[name] = local.jwksJson;
      else if (name === 'SIGNER') vars[name] = 'local';
      else if (name === 'KMS_KEY_ID') vars[name] = '';
      else if (isObject(value) && typeof value.Ref === 'string' && TABLE_TYPES.has(template.Resources[value.Ref]?.Type ?? '')) {
        usesTable = true;
        const id = value.Ref;
        const named = local.tables?.[id] ?? (id === sessionTable ? local.sessionTable : local.serviceTables?.[name]);
        const literal = template.Resources[id]?.Properties?.TableName;
        vars[name] = named ?? (typeof literal === 'string' ? literal : id);
        if (named === undefined && typeof literal !== 'string') {
          warnings.push(`${fn.logicalId}.${name}: table ${id} has no known local name; using "${id}" (give --table ${id}=<local name>)`);
        }
      } else if (typeof value === 'string') vars[name] = value;
      else if (isObject(value) && Array.isArray(value['Fn::GetAtt']) && value['Fn::GetAtt'][1] === 'Arn') {
        // What SAM shows a function for another function's ARN: a well-formed ARN of the logical id.
        vars[name] = `arn:aws:lambda:${region}:123456789012:function:${String(value['Fn::GetAtt'][0])}`;
      } else {
        const text = render(value, template);
        if (text !== undefined && API_URL.test(text)) vars[name] = local.apiUrl + text.replace(API_URL, '');
        else {
          vars[name] = '';
          warnings.push(`${fn.logicalId}.${name}: ${JSON.stringify(value).slice(0, 80)} has no local value; set to ""`);
        }
      }
    }
    const added: string[] = [];
    if (usesTable) for (const name of LOCAL_ONLY.endpoint) (vars[name] = local.endpoint), added.push(name);
    if ('SIGNER' in fn.variables) (vars[LOCAL_ONLY.key] = local.signingKeyPem), added.push(LOCAL_ONLY.key);
    env[fn.logicalId] = vars;

    if (added.length > 0) {
      const props = (out.Resources[fn.logicalId]!.Properties ??= {});
      const environment = isObject(props.Environment) ? props.Environment : (props.Environment = {});
      const declared = isObject(environment.Variables) ? environment.Variables : (environment.Variables = {});
      for (const name of added) if (!(name in declared)) declared[name] = '';
    }
  }
  return { env, template: out, warnings };
}

/** `cdk.out/Tokengate.template.json` → `cdk.out/Tokengate.local.template.json`. */
export const localTemplatePath = (templateFile: string): string => templateFile.replace(/(\.template)?\.json$/, '.local.template.json');
