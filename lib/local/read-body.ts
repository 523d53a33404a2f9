/**
 * Reads a request body with API Gateway's payload quota (10 MiB by default). A declared Content-Length over
 * the limit is refused before reading anything; a chunked body is refused as soon as it crosses the limit:
 * the chunk that crosses it is not kept, and what follows is discarded, not buffered, until the gateway's
 * 413 (sent with `Connection: close`) ends the connection. The gateway calls this only once the caller is
 * authorized, so an unauthenticated body is never read.
 */
import type { IncomingMessage } from 'node:http';

export const TOO_LARGE = Symbol('too-large');
/** The client went away before the body was complete. */
export const ABORTED = Symbol('aborted');

export type BodyPlan = 'none' | 'read' | typeof TOO_LARGE;

/** What to do about the body, decided from the headers alone (no I/O). */
export function planBody(req: IncomingMessage, maxBytes: number): BodyPlan {
  const length = req.headers['content-length'];
  if (length !== undefined) {
    const declared = Number(length);
    if (declared > maxBytes) return TOO_LARGE;
    if (declared === 0) return 'none';
    return 'read';
  }
  return req.headers['transfer-encoding'] === undefined ? 'none' : 'read';
}

/** The body (null when empty), TOO_LARGE, or ABORTED. Never rejects. */
export function readBody(
  req: IncomingMessage,
  maxBytes: number,
): Promise<Buffer | null | typeof TOO_LARGE | typeof ABORTED> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const finish = (result: Buffer | null | typeof TOO_LARGE | typeof ABORTED): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > maxBytes) finish(TOO_LARGE); // the stream keeps flowing with no listener: the rest is dropped
      else chunks.push(chunk);
    };
    const onEnd = (): void => finish(total === 0 ? null : Buffer.concat(chunks, total));
    const onAbort = (): void => finish(ABORTED);
    const onClose = (): void => {
      if (!req.complete) finish(ABORTED);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('close', onClose);
  });
}
