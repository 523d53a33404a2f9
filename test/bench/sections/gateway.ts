/**
 * Section 6: the local API Gateway under loopback load (autocannon, 50 connections), against a bare node:http
 * server answering the same JSON, in the same run: req/s, p50/p99 latency, peak resident memory of the server
 * process. Gateway with the authorizer cache on (API Gateway's default, 300 s) and off (the authorizer runs on
 * every request: signature check, revocation-cache hit, policy). Each server runs in a process of its own;
 * rounds alternate between them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { onCleanup, stopChild } from '../lib/cleanup.js';
import { median, spread } from '../lib/stats.js';

const SERVER = fileURLToPath(new URL('../gateway-server.ts', import.meta.url));

type Mode = 'bare' | 'cache-on' | 'cache-off';

interface Server {
  mode: Mode;
  child: ChildProcess;
  url: string;
  token?: string;
  stop: () => Promise<void>;
  request(msg: string): Promise<Record<string, unknown>>;
}

export interface GatewayModeResult {
  mode: Mode;
  rps: number;
  rpsSpread: number;
  meanMs: number;
  p50ms: number;
  p99ms: number;
  peakRssMB: number;
  non2xx: number;
  errors: number;
  ratioToBare: number;
  stats?: unknown;
}

export interface GatewayResults {
  connections: number;
  durationSeconds: number;
  rounds: number;
  modes: GatewayModeResult[];
}

async function startServer(mode: Mode): Promise<Server> {
  const args = ['--import', 'tsx', SERVER, mode === 'bare' ? 'bare' : 'gateway', mode === 'cache-off' ? '0' : '300'];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  const stop = onCleanup(`gateway server (${mode})`, () => stopChild(child));
  const ready = await new Promise<{ port: number; token?: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${mode} server did not start`)), 30_000);
    child.once('exit', (code) => reject(new Error(`${mode} server exited ${code}`)));
    child.on('message', (m: { kind?: string; port?: number; token?: string }) => {
      if (m.kind === 'ready') {
        clearTimeout(timer);
        resolve({ port: m.port!, ...(m.token ? { token: m.token } : {}) });
      }
    });
  });
  const request = (msg: string) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const on = (m: Record<string, unknown>) => {
        if (m.kind === 'stats') {
          child.off('message', on);
          resolve(m);
        }
      };
      child.on('message', on);
      child.send(msg);
    });
  return { mode, child, url: `http://127.0.0.1:${ready.port}/orders`, ...(ready.token ? { token: ready.token } : {}), stop, request };
}

async function load(s: Server, seconds: number, connections: number) {
  const result = await autocannon({
    url: s.url,
    connections,
    duration: seconds,
    ...(s.token ? { headers: { authorization: `Bearer ${s.token}` } } : {}),
  });
  return result;
}

export async function benchGateway(opts: { quick: boolean; log: (s: string) => void }): Promise<GatewayResults> {
  const connections = 50;
  const seconds = opts.quick ? 3 : 6;
  const rounds = opts.quick ? 1 : 3;
  const modes: Mode[] = ['bare', 'cache-on', 'cache-off'];
  const servers = new Map<Mode, Server>();
  try {
    for (const m of modes) servers.set(m, await startServer(m));
    // Sanity: the gateway answers 200 with the token, 401 without.
    for (const m of ['cache-on', 'cache-off'] as const) {
      const s = servers.get(m)!;
      const ok = await fetch(s.url, { headers: { authorization: `Bearer ${s.token}` } });
      const denied = await fetch(s.url);
      if (ok.status !== 200 || denied.status !== 401) throw new Error(`${m}: expected 200/401, got ${ok.status}/${denied.status}`);
      await ok.arrayBuffer();
      await denied.arrayBuffer();
    }
    const perRound = new Map<Mode, { rps: number; mean: number; p50: number; p99: number; rss: number; non2xx: number; errors: number }[]>(
      modes.map((m) => [m, []]),
    );
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < modes.length; k++) {
        const m = modes[(k + round) % modes.length]!;
        const s = servers.get(m)!;
        await load(s, 1, connections); // warm-up: JIT, sockets, the authorizer cache
        await s.request('reset');
        const r = await load(s, seconds, connections);
        const stats = await s.request('stats');
        perRound.get(m)!.push({
          rps: r.requests.average,
          mean: r.latency.average,
          p50: r.latency.p50,
          p99: r.latency.p99,
          rss: Number(stats.peakRssBytes) / 2 ** 20,
          non2xx: r.non2xx,
          errors: r.errors + r.timeouts,
        });
        opts.log(`  gateway round ${round + 1}/${rounds}: ${m} ${Math.round(r.requests.average)} req/s`);
      }
    }
    const bareRounds = perRound.get('bare')!;
    const results: GatewayModeResult[] = [];
    for (const m of modes) {
      const r = perRound.get(m)!;
      const stats = m === 'bare' ? undefined : (await servers.get(m)!.request('stats')).stats;
      results.push({
        mode: m,
        rps: median(r.map((x) => x.rps)),
        rpsSpread: spread(r.map((x) => x.rps)),
        meanMs: median(r.map((x) => x.mean)),
        p50ms: median(r.map((x) => x.p50)),
        p99ms: median(r.map((x) => x.p99)),
        peakRssMB: Math.max(...r.map((x) => x.rss)),
        non2xx: r.reduce((a, x) => a + x.non2xx, 0),
        errors: r.reduce((a, x) => a + x.errors, 0),
        ratioToBare: median(r.map((x, i) => x.rps / bareRounds[i]!.rps)),
        ...(stats !== undefined ? { stats } : {}),
      });
    }
    return { connections, durationSeconds: seconds, rounds, modes: results };
  } finally {
    for (const s of servers.values()) await s.stop();
  }
}
