/**
 * A fault-injecting HTTP proxy in front of the S3 test server, for test/e2e/faults-s3.test.ts. Each
 * request is forwarded unchanged (the Host header too, so SigV4 signatures stay valid), unless the
 * test's policy says otherwise: answer `503 SlowDown` (S3's throttling reply), answer after a
 * delay, or the whole server is "down" (new connections are reset and open ones cut, as when the
 * storage service is stopped) until `up()`. It counts what it did, for the report.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TestContext } from 'node:test';

export type Fault = 'pass' | 'slowdown' | { delayMs: number };

export interface FaultProxy {
  endpoint: string;
  /** Chooses the fault for each request: its method, path with query, Range header, running number from 1. */
  policy: (req: { method: string; path: string; range: string; n: number }) => Fault;
  /** Cuts every open connection and resets new ones until `up()`. */
  down(): void;
  up(): void;
  counts: { requests: number; slowdowns: number; delayed: number; reset: number; puts: number };
}

const SLOWDOWN = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>';

export async function faultProxy(t: TestContext, target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const sockets = new Set<Socket>();
  let isDown = false;
  const proxy: FaultProxy = {
    endpoint: '',
    policy: () => 'pass',
    down() {
      isDown = true;
      for (const s of sockets) s.destroy();
    },
    up() {
      isDown = false;
    },
    counts: { requests: 0, slowdowns: 0, delayed: 0, reset: 0, puts: 0 },
  };
  const server = http.createServer((req, res) => {
    const n = ++proxy.counts.requests;
    if (isDown) {
      proxy.counts.reset++;
      req.socket.destroy();
      return;
    }
    if (req.method === 'PUT' || req.method === 'POST') proxy.counts.puts++;
    const fault = proxy.policy({ method: req.method ?? 'GET', path: req.url ?? '/', range: req.headers.range ?? '', n });
    if (fault === 'slowdown') {
      proxy.counts.slowdowns++;
      // Drain the body first, as S3 does, so the client sees the reply rather than a reset.
      req.resume();
      const body = req.method === 'HEAD' ? '' : SLOWDOWN;
      req.on('end', () => res.writeHead(503, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) }).end(body));
      return;
    }
    const forward = (): void => {
      const out = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      out.on('error', () => res.destroy());
      req.pipe(out);
    };
    if (typeof fault === 'object') {
      proxy.counts.delayed++;
      setTimeout(forward, fault.delayMs);
    } else forward();
  });
  server.on('connection', (socket) => {
    if (isDown) {
      proxy.counts.reset++;
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  }));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
