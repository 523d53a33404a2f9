/**
 * A minimal Lambda `Context` for in-process invocations: names and ARNs shaped like the real ones, a fresh
 * `awsRequestId`, and `getRemainingTimeInMillis` counting down to the invocation's deadline (wall clock,
 * like the timer that enforces it). The callback-era `done`/`fail`/`succeed` are inert: handlers here are
 * async and answer by resolving.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

export interface LambdaEnvironment {
  readonly region: string;
  readonly accountId: string;
}

const inert = (): void => {};

export function createLambdaContext(functionName: string, env: LambdaEnvironment, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${env.region}:${env.accountId}:function:${functionName}`,
    memoryLimitInMB: '128',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: inert,
    fail: inert,
    succeed: inert,
  };
}

/** Why an invocation was abandoned: it ran past its deadline. */
export const INVOCATION_TIMEOUT = Symbol('invocation-timeout');

/**
 * Calls `fn` and settles with its result, its error (thrown or rejected), or INVOCATION_TIMEOUT after
 * `timeoutMs`. The timer is unref'd and always cleared, so nothing outlives the invocation.
 */
export function invokeWithTimeout<T>(fn: () => T | Promise<T>, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(reject, timeoutMs, INVOCATION_TIMEOUT);
    timer.unref();
    let pending: T | Promise<T>;
    try {
      pending = fn();
    } catch (error) {
      clearTimeout(timer);
      reject(error);
      return;
    }
    Promise.resolve(pending).then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
