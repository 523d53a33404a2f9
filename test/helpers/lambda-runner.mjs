/**
 * What a Lambda Node.js runtime does with one function, in a plain `node` process (no tsx, no test framework):
 * load `<code dir>/<file>` of the handler setting `file.export` (.mjs, .js or .cjs), call it once with the event
 * read from stdin and a Lambda context, and write the outcome as JSON to file descriptor 3. Its environment is
 * exactly what the parent passes (the test gives it SAM's runtime variables and the --env-vars entry).
 *
 *   node test/helpers/lambda-runner.mjs <code dir> <handler setting> 3> result.json < event.json
 */
import { existsSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomUUID } from 'node:crypto';

const [dir, setting] = process.argv.slice(2);
const dot = setting.lastIndexOf('.');
const base = join(dir, setting.slice(0, dot));
const exportName = setting.slice(dot + 1);
const file = ['.mjs', '.js', '.cjs'].map((ext) => base + ext).find((f) => existsSync(f));
const out = (value) => writeSync(3, JSON.stringify(value));
if (!file) {
  out({ ok: false, errorType: 'Runtime.ImportModuleError', errorMessage: `no module ${base}.(mjs|js|cjs)` });
  process.exit(0);
}
const event = JSON.parse(readFileSync(0, 'utf8'));
const deadline = Date.now() + Number(process.env.AWS_LAMBDA_FUNCTION_TIMEOUT ?? 3) * 1000;
const context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'function',
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:123456789012:function:${process.env.AWS_LAMBDA_FUNCTION_NAME}`,
  memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '128',
  awsRequestId: randomUUID(),
  logGroupName: `/aws/lambda/${process.env.AWS_LAMBDA_FUNCTION_NAME}`,
  logStreamName: 'local',
  getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  done() {},
  fail() {},
  succeed() {},
};
try {
  const mod = await import(pathToFileURL(file).href);
  const handler = mod[exportName] ?? mod.default?.[exportName];
  if (typeof handler !== 'function') throw Object.assign(new Error(`${file} exports no function ${exportName}`), { name: 'Runtime.HandlerNotFound' });
  const result = await handler(event, context);
  out({ ok: true, result: result ?? null });
} catch (err) {
  out({ ok: false, errorType: err?.name ?? 'Error', errorMessage: err?.message ?? String(err) });
}
process.exit(0);
