/**
 * One access-log line per request, handed to the sink off the request path: lines are queued and flushed
 * once per event-loop turn, so a slow (or synchronous) sink never delays a response.
 *
 * Lines carry the request id, client address, method, path (no query string), status and latency; never
 * headers, bodies or tokens.
 */
export class AccessLog {
  private pending: string[] = [];
  private scheduled = false;

  constructor(private readonly sink: (line: string) => void) {}

  write(line: string): void {
    this.pending.push(line);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Hands every queued line to the sink now. A throwing sink loses its line, never the gateway. */
  readonly flush = (): void => {
    this.scheduled = false;
    const lines = this.pending;
    this.pending = [];
    for (const line of lines) {
      try {
        this.sink(line);
      } catch {
        // a broken log sink must not take requests down with it
      }
    }
  };
}

export function accessLine(
  receivedAt: number,
  requestId: string,
  sourceIp: string,
  method: string,
  path: string,
  status: number,
  latencyMs: number,
): string {
  return `${new Date(receivedAt).toISOString()} ${requestId} ${sourceIp} "${method} ${path}" ${status || '-'} ${latencyMs.toFixed(1)}ms`;
}
