#!/usr/bin/env node
/**
 * The CDK app: builds the tokengate stack and runs the cdk-nag AWS Solutions checks over it (cdk-nag v3 is a
 * CDK policy-validation plugin: an unacknowledged finding fails the synth). Settings come from cdk.json or
 * `-c tokengate:<name>=…` (lib/constructs/settings.ts). Without CDK_DEFAULT_ACCOUNT/REGION the stack is
 * environment-agnostic, so `npm run synth` works offline with no credentials.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { TokengateStack } from '../lib/tokengate-stack.js';

const app = new App();
const account = process.env.CDK_DEFAULT_ACCOUNT;
const region = process.env.CDK_DEFAULT_REGION;

new TokengateStack(app, 'Tokengate', {
  description: 'tokengate: JWT authentication and API Gateway token authorizer',
  ...(account && region ? { env: { account, region } } : {}),
});

Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
