/**
 * Everything the benchmark starts is registered here and stopped at the end, on error and on Ctrl-C: child
 * processes (by their own pid, or their own process group when they were started detached), servers, temp dirs.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

type Step = { name: string; run: () => Promise<void> | void };
const steps: Step[] = [];

export function onCleanup(name: string, run: () => Promise<void> | void): () => Promise<void> {
  const step = { name, run };
  steps.push(step);
  return async () => {
    const i = steps.indexOf(step);
    if (i >= 0) {
      steps.splice(i, 1);
      await step.run();
    }
  };
}

export const removeDirOnCleanup = (dir: string): (() => Promise<void>) =>
  onCleanup(`rm ${dir}`, () => rmSync(dir, { recursive: true, force: true }));

/** Stops a child we started: SIGTERM (to its group when detached), SIGKILL after `graceMs`. */
export function stopChild(child: ChildProcess, opts: { group?: boolean; graceMs?: number } = {}): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  const pid = child.pid;
  const signal = (sig: NodeJS.Signals) => {
    try {
      if (opts.group) process.kill(-pid, sig);
      else child.kill(sig);
    } catch {
      // already gone
    }
  };
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal('SIGKILL');
      resolve();
    }, opts.graceMs ?? 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      // a detached group may hold grandchildren (tsx runs node in a child): make sure they are gone too
      if (opts.group) signal('SIGKILL');
      resolve();
    });
    signal('SIGTERM');
  });
}

export function trackChild(child: ChildProcess, name: string, group = false): () => Promise<void> {
  return onCleanup(name, () => stopChild(child, { group }));
}

export async function runCleanup(): Promise<void> {
  while (steps.length > 0) {
    const step = steps.pop()!;
    try {
      await step.run();
    } catch (err) {
      process.stderr.write(`cleanup "${step.name}" failed: ${(err as Error)?.message}\n`);
    }
  }
}
