/**
 * The embedded DynamoDB-compatible store (dynalite), in-process, on a free loopback port.
 * With `path` it persists to LevelDB (npm start); without, it lives in memory (tests).
 *
 * A persistent store belongs to one process at a time: `path` is locked for this process (`<path>.pid`,
 * lib/local/data-dir.ts) before LevelDB opens it, so a second process gets DataDirInUseError naming the PID
 * that holds it, instead of LevelDB's lock failing later inside the store as an uncaught "Database is closed".
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { dirname } from 'node:path';
import dynalite from 'dynalite';
import { lockDataDir } from './data-dir.js';

export interface EmbeddedDynamo {
  endpoint: string;
  close(): Promise<void>;
}

export async function startEmbeddedDynamo(opts: { path?: string; port?: number } = {}): Promise<EmbeddedDynamo> {
  const release = opts.path ? lockDataDir(opts.path, dirname(opts.path)) : () => {};
  let server: Server;
  try {
    server = dynalite({ ...(opts.path ? { path: opts.path } : {}), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
    });
  } catch (err) {
    release();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => {
          release();
          resolve();
        });
      }),
  };
}
