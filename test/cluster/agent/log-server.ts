/**
 * The kubelet's `/containerLogs/{namespace}/{pod}/{container}` endpoint over HTTPS, so
 * `kubectl logs` works: the apiserver proxies to the node's InternalIP and kubelet port, checking
 * the serving certificate against the cluster CA. Supports `follow`, `tailLines`, `limitBytes`
 * and `previous`; other options are ignored. Log files are also readable directly at
 * `.cluster/pods/<namespace>_<pod>_<uid>/logs/<container>/<restartCount>.log`.
 */
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { readTail } from './termination-message.ts';

/** How the server finds a container's log. */
export interface LogSource {
  logFile(namespace: string, pod: string, container: string, previous: boolean): string | undefined;
  isRunning(namespace: string, pod: string, container: string): boolean;
}

async function follow(res: ServerResponse, file: string, from: number, stillRunning: () => boolean): Promise<void> {
  let offset = from;
  let closed = false;
  res.on('close', () => (closed = true));
  while (!closed) {
    const size = existsSync(file) ? statSync(file).size : 0;
    if (size > offset) {
      await new Promise<void>((resolve) => {
        const stream = createReadStream(file, { start: offset, end: size - 1 });
        stream.on('data', (chunk) => res.write(chunk));
        stream.on('end', resolve);
        stream.on('error', () => resolve());
      });
      offset = size;
    } else if (!stillRunning()) {
      break;
    } else {
      await sleep(200);
    }
  }
  res.end();
}

/** Starts the log server on loopback at `port` (0: any); resolves with the port it listens on. */
export async function startLogServer(tls: { cert: string; key: string }, port: number, source: LogSource): Promise<{ server: Server; port: number }> {
  const server = createServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://localhost');
    const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (req.method !== 'GET' || !m) {
      res.writeHead(404).end('not found');
      return;
    }
    const [namespace, pod, container] = [m[1], m[2], m[3]].map((s) => decodeURIComponent(s ?? ''));
    const q = url.searchParams;
    const previous = q.get('previous') === 'true';
    const file = source.logFile(namespace ?? '', pod ?? '', container ?? '', previous);
    if (file === undefined) {
      res.writeHead(404).end(`container ${container} of pod ${namespace}/${pod} not found on this node${previous ? ' (no previous run)' : ''}`);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    const tailLines = q.get('tailLines');
    const limitBytes = Number(q.get('limitBytes') ?? '0');
    let content = tailLines !== null ? readTail(file, Number(tailLines), 64 * 1024 * 1024) : existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (Number(tailLines) === 0 && tailLines !== null) content = '';
    if (limitBytes > 0) content = Buffer.from(content).subarray(0, limitBytes).toString('utf8');
    const size = existsSync(file) ? statSync(file).size : 0;
    if (q.get('follow') === 'true' && !previous) {
      res.write(content);
      void follow(res, file, size, () => source.isRunning(namespace ?? '', pod ?? '', container ?? ''));
      return;
    }
    res.end(content);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr !== null ? addr.port : port };
}
