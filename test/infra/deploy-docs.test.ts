/**
 * docs/DEPLOY.md against the synthesized template: the counts it states, the outputs it lists and reads, the
 * settings it documents, the log groups it names, and the commands that used to go wrong (identity settings
 * passed with -c, an empty region, an unset password).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from '@jest/globals';
import { CORS_ALLOW_HEADERS } from '../../lib/constructs/tokengate-api.js';
import { IDENTITY_SETTINGS, validateSettings } from '../../lib/constructs/settings.js';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ShopStack } from '../../bin/app.js';
import { baseContext, logicalId, ofType, type TemplateJson } from './support.js';

const docs = readFileSync(new URL('../../docs/DEPLOY.md', import.meta.url), 'utf8');
const section = (title: string): string => {
  const start = docs.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `section ${title}`);
  const end = docs.indexOf('\n## ', start + 1);
  return docs.slice(start, end < 0 ? undefined : end);
};
const shell = (): string[] => [...docs.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);

// DEPLOY.md walks through deploying the sample app (bin/app.ts): the docs are checked against its template.
const app = new App({ context: baseContext({ 'tokengate:corsAllowOrigins': ['https://app.acme-corp.com'] }) });
const stack = new ShopStack(app, 'Tokengate');
const tokengate = stack.tokengate;
const json = Template.fromStack(stack).toJSON() as TemplateJson;
const WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];

describe('docs/DEPLOY.md matches the template', () => {
  it('states the number of Lambda functions and names every one', () => {
    const fns = ofType(json, 'AWS::Lambda::Function');
    const m = /- (\w+) Lambda functions: ([^;]*);/s.exec(docs);
    assert.ok(m, 'the function count line');
    assert.equal(WORDS.indexOf(m[1] as string), fns.length);
    for (const name of ['login', 'refresh', 'logout', 'jwks', 'authorizer'] as const) {
      assert.ok(fns.some(([id]) => id === logicalId(stack, tokengate.functions[name].fn)), name);
      assert.ok((m[2] as string).includes(name), `${name} is named`);
    }
    for (const name of ['orders', 'inventory'] as const) {
      assert.ok(fns.some(([id]) => id === logicalId(stack, stack.services[name])), name);
      assert.ok((m[2] as string).includes(name), `${name} is named`);
    }
    assert.match(m[2] as string, /JWKS publisher/);
    assert.match(m[2] as string, /provider framework/);
  });

  it('states one table and the signing keys with their removal policies', () => {
    // tokengate's one table, and the sample services' own (one each).
    assert.equal(ofType(json, 'AWS::DynamoDB::Table').length, 3);
    assert.match(docs, /- one DynamoDB table \(/);
    for (const [, key] of ofType(json, 'AWS::KMS::Key')) assert.equal(key.DeletionPolicy, 'RetainExceptOnCreate');
    assert.match(docs, /retained on update and delete, but deleted when\s+the stack's very first create fails/);
  });

  it('lists exactly the stack outputs, and reads only outputs that exist', () => {
    const outputs = Object.keys(json.Outputs ?? {});
    const table = section('Deploy').match(/^\| `([A-Za-z]+)(…)?` \|/gm)?.map((row) => row.slice(3, row.indexOf('`', 3))) ?? [];
    const matches = (documented: string, actual: string) =>
      documented.endsWith('…') ? new RegExp(`^${documented.slice(0, -1)}[0-9A-F]{8}$`).test(actual) : documented === actual;
    assert.equal(table.length, outputs.length, `${table.join(', ')} vs ${outputs.join(', ')}`);
    for (const o of outputs) assert.ok(table.some((d) => matches(d, o)), `output ${o} is documented`);
    for (const [, used] of docs.matchAll(/\$\(out (\w+)\)/g)) assert.ok(outputs.includes(used as string), `out ${used}`);
  });

  it('documents every setting, and sets identity settings in cdk.json, never with -c', () => {
    const settings = section('Settings');
    const all = [
      ...Object.keys(validateSettings({ issuer: 'https://auth.acme-corp.com', audience: 'a' })),
      'refreshCookiePath', 'webAclArn', 'wafRateLimitPerIp',
    ];
    for (const name of all) assert.ok(settings.includes(`| \`${name}\``) || settings.includes(`/ \`${name}\``), `setting ${name}`);
    for (const name of IDENTITY_SETTINGS) {
      assert.ok(!new RegExp(`-c\\s+tokengate:${name}\\b`).test(docs), `no -c tokengate:${name}`);
    }
    for (const block of shell()) {
      for (const line of block.split('\n').filter((l) => /cdk (deploy|diff|synth)/.test(l))) {
        assert.ok(!/-c\s+tokengate:/.test(line), line);
      }
    }
    assert.match(settings, /\*\*Changing `issuer` or `audience` invalidates every issued access token\*\*/);
  });

  it('derives the region from the stack (never empty) and sets the password before using it', () => {
    const blocks = shell().join('\n');
    assert.ok(!blocks.includes('aws configure get region'), 'empty when the region is only in AWS_REGION');
    assert.ok(!/--region "\$AWS_REGION"/.test(blocks), '--region "" is refused');
    assert.match(blocks, /^REGION=\$\(aws cloudformation describe-stacks .*StackId.* \| cut -d: -f4\)$/m);
    const set = blocks.search(/read -rs[^\n]* ALICE_PASSWORD|ALICE_PASSWORD=/);
    const used = blocks.indexOf('$ALICE_PASSWORD');
    assert.ok(set >= 0 && set < used, 'ALICE_PASSWORD is set before its first use');
  });

  it('names the log groups the stack creates', () => {
    const groups = ofType(json, 'AWS::Logs::LogGroup');
    assert.ok(groups.some(([id]) => id.startsWith('TokengateHttpAccessLogs')));
    assert.match(docs, /`Tokengate-TokengateHttpAccessLogs…`/);
    assert.ok(groups.some(([, g]) => JSON.stringify(g.Properties?.LogGroupName ?? '').includes('API-Gateway-Execution-Logs_')));
    assert.match(docs, /`API-Gateway-Execution-Logs_<api id>\/<stage>`/);
  });

  it('describes the preflights as the template configures them', () => {
    const [, preflight] = ofType(json, 'AWS::ApiGateway::Method').find(([, m]) => m.Properties?.HttpMethod === 'OPTIONS') ?? [];
    const params = ((preflight?.Properties?.Integration as { IntegrationResponses: { ResponseParameters: Record<string, string>; StatusCode: string }[] }).IntegrationResponses[0]);
    assert.equal(params?.StatusCode, '204');
    assert.equal(params?.ResponseParameters['method.response.header.Access-Control-Allow-Headers'], `'${CORS_ALLOW_HEADERS.join(',')}'`);
    assert.equal(params?.ResponseParameters['method.response.header.Access-Control-Max-Age'], "'600'");
    const cors = section('CORS');
    assert.ok(cors.includes(`\`${CORS_ALLOW_HEADERS.join(', ')}\``));
    assert.ok(cors.includes('`Access-Control-Max-Age: 600`') && cors.includes('with 204'));
  });

  it('documents the account-level role switch and the check to run first', () => {
    const role = docs.slice(docs.indexOf('### The account-level CloudWatch role'));
    assert.match(role, /aws apigateway get-account/);
    assert.match(role, /"tokengate:manageAccountCloudWatchRole": false/);
    assert.match(role, /CloudWatch Logs role ARN must be set in account settings to enable logging/);
    assert.ok(!/manageAccountCloudWatchRole: false`\s+to `Tokengate`/.test(docs), 'opting out needs no code edit');
  });
});
