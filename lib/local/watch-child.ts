/**
 * One generation of handlers for the watch loop (lib/local/watch.ts): the gateway and every handler exactly as
 * `npm start` runs them, on a private port, using the store the watch loop keeps (TOKENGATE_STORE_ENDPOINT).
 * Tells its parent over IPC when it serves, and stops on SIGTERM or when the parent goes away.
 */
import { accessLogSetting } from '../../lambdas/core/config.js';
import { startLocalStack, type LocalStack } from './stack.js';
import type { ChildMessage } from './watch.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const send = (m: ChildMessage) => process.send?.(m);
let stack: LocalStack | undefined;
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await stack?.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', () => {}); // Ctrl-C reaches the whole group: the parent decides, and sends SIGTERM.
process.on('disconnect', stop);

try {
  const quiet = !accessLogSetting(process.env);
  const endpoint = process.env.TOKENGATE_STORE_ENDPOINT;
  stack = await startLocalStack({
    port: 0,
    ...(endpoint ? { dynamoEndpoint: endpoint } : {}),
    log: quiet ? undefined : (line) => process.stdout.write(line + '\n'),
    onFunctionError: (err, fn) => {
      const e = err as Error | undefined;
      console.error(`[${fn}] ${e?.name}: ${e?.message}`);
    },
  });
  send({ type: 'ready', port: stack.port });
} catch (err) {
  send({ type: 'failed', message: `${(err as Error)?.name}: ${(err as Error)?.message}` });
  process.exitCode = 1;
}
