// One cold start in a fresh process, as the Lambda runtime does it: import the bundle (module init), invoke its
// handler once with the event (first invocation), then once more with the same event (second invocation: what
// the container's next request costs once everything is loaded and connected). Prints one line
// `BENCH_RESULT {...}`; everything the function itself writes (logs, EMF) goes elsewhere in the output and is
// ignored. Usage: node cold-runner.mjs <bundle.mjs> <event.json|-> ; with "-" only the import is timed.
const started = performance.now();
const [bundle, eventFile] = process.argv.slice(2);
const { pathToFileURL } = await import('node:url');
const { readFileSync } = await import('node:fs');
const event = eventFile && eventFile !== '-' ? JSON.parse(readFileSync(eventFile, 'utf8')) : undefined;
const context = {
  awsRequestId: 'bench-request',
  functionName: 'bench',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:bench',
  memoryLimitInMB: '256',
  logGroupName: '/aws/lambda/bench',
  logStreamName: 'bench',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 5000,
  done() {},
  fail() {},
  succeed() {},
};
const invoke = async (mod) => {
  try {
    const r = await mod.handler(event, context);
    return r && typeof r === 'object' && 'statusCode' in r ? `status ${r.statusCode}` : r && r.policyDocument ? `policy ${r.policyDocument.Statement?.[0]?.Effect}` : 'ok';
  } catch (err) {
    return `threw ${err?.message}`;
  }
};
const t0 = performance.now();
const mod = await import(pathToFileURL(bundle).href);
const t1 = performance.now();
let outcome = 'not invoked';
let secondOutcome = 'not invoked';
let t2 = t1;
let t3 = t1;
if (event !== undefined) {
  outcome = await invoke(mod);
  t2 = performance.now();
  secondOutcome = await invoke(mod);
  t3 = performance.now();
}
process.stdout.write(
  `\nBENCH_RESULT ${JSON.stringify({ initMs: t1 - t0, firstMs: t2 - t1, secondMs: t3 - t2, runnerMs: t0 - started, outcome, secondOutcome })}\n`,
);
process.exit(0);
