/**
 * An in-process HTTP server speaking the API server's LIST and WATCH protocol for one collection,
 * so the informer's unit tests run client-node's real `Watch`, `ListWatch` and typed APIs over a
 * real socket, and can inject the failures a real cluster produces only by chance: failed LISTs,
 * refused watches, dropped connections, a stream that stalls, an expired resourceVersion.
 *
 * What it implements: `GET <path>` (LIST, with `labelSelector` equality terms, `limit` and
 * `continue`) and `GET <path>?watch=true` (from `resourceVersion`, `BOOKMARK`s when asked for,
 * `ERROR` 410 when the version is older than the retained history). Everything else is 404.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

/** What the fake serves. */
export interface FakeCollection {
  /** The collection path, e.g. `/api/v1/namespaces/ns/configmaps`. */
  path: string;
  apiVersion: string;
  kind: string;
  namespace: string;
}

/** A stored object: plain wire JSON. */
export interface FakeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; uid: string; resourceVersion: string; creationTimestamp: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

interface Watcher {
  res: ServerResponse;
  bookmarks: boolean;
  selector: Record<string, string>;
}

interface HistoryEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: FakeObject;
}

/** The creation time every fake object gets, as the API server writes it. */
export const CREATED_AT = '2024-05-01T10:00:00Z';

function parseSelector(s: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const term of (s ?? '').split(',').filter(Boolean)) {
    const [k, v] = term.split('=');
    if (k !== undefined && v !== undefined) out[k] = v;
  }
  return out;
}

function matches(obj: FakeObject, selector: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => obj.metadata.labels?.[k] === v);
}

function status(code: number, reason: string, message: string): object {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

/** The fake server; see the module comment. */
export class FakeApiServer {
  readonly collection: FakeCollection;
  readonly #server: Server;
  readonly #objects = new Map<string, FakeObject>();
  readonly #history: HistoryEvent[] = [];
  readonly #watchers = new Set<Watcher>();
  #rv = 100;
  /** Watches from a resourceVersion below this get 410 Gone. */
  #oldestRv = 0;
  #failLists = 0;
  #failWatches = 0;
  #stalled = false;
  #uid = 0;
  /** Requests served, for assertions. */
  readonly requests = { lists: 0, watches: 0, watchQueries: [] as URLSearchParams[], listQueries: [] as URLSearchParams[] };

  private constructor(collection: FakeCollection) {
    this.collection = collection;
    this.#server = createServer((req, res) => this.#handle(req, res));
  }

  /** Starts a fake serving `collection` (default: ConfigMaps in namespace `ns`) on a free port. */
  static async start(collection: FakeCollection = { path: '/api/v1/namespaces/ns/configmaps', apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns' }): Promise<FakeApiServer> {
    const fake = new FakeApiServer(collection);
    await new Promise<void>((resolve) => fake.#server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** A KubeConfig pointing at this server. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'fake', token: 'fake' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
      currentContext: 'fake',
    });
    return kc;
  }

  /** Creates an object (kind and apiVersion are left out of LIST items, as the real server does). */
  create(name: string, fields: Record<string, unknown> = {}, labels?: Record<string, string>): FakeObject {
    const obj: FakeObject = {
      ...fields,
      metadata: { name, namespace: this.collection.namespace, uid: `uid-${++this.#uid}`, resourceVersion: '', creationTimestamp: CREATED_AT, ...(labels && { labels }) },
    };
    return this.#write('ADDED', obj);
  }

  /** Replaces the fields of an object (its metadata is kept). */
  update(name: string, fields: Record<string, unknown>): FakeObject {
    const old = this.#objects.get(name);
    if (!old) throw new Error(`fake: no object ${name}`);
    return this.#write('MODIFIED', { ...fields, metadata: { ...old.metadata } });
  }

  delete(name: string): void {
    const old = this.#objects.get(name);
    if (!old) throw new Error(`fake: no object ${name}`);
    this.#write('DELETED', { ...old, metadata: { ...old.metadata } });
  }

  /** The next `n` LISTs answer 500. */
  failLists(n: number): void {
    this.#failLists = n;
  }

  /** The next `n` watch requests answer 403. */
  failWatches(n: number): void {
    this.#failWatches = n;
  }

  /** Cuts every open watch connection (the client sees a reset socket). */
  dropWatches(): void {
    for (const w of this.#watchers) w.res.socket?.destroy();
    this.#watchers.clear();
  }

  /** While stalled, open watches stay connected but receive nothing, as a stuck stream. */
  stall(stalled: boolean): void {
    this.#stalled = stalled;
  }

  /** Forgets the event history: watches from any earlier resourceVersion get 410 Gone. */
  compact(): void {
    this.#history.length = 0;
    this.#oldestRv = this.#rv;
  }

  /** Sends a BOOKMARK to every open watch that asked for bookmarks. */
  bookmark(): void {
    for (const w of this.#watchers) {
      if (w.bookmarks) this.#send(w, { type: 'BOOKMARK', object: { kind: this.collection.kind, apiVersion: this.collection.apiVersion, metadata: { resourceVersion: String(this.#rv) } } });
    }
  }

  /** Number of watch connections open now. */
  openWatches(): number {
    return this.#watchers.size;
  }

  async close(): Promise<void> {
    this.dropWatches();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #write(type: HistoryEvent['type'], obj: FakeObject): FakeObject {
    const rv = ++this.#rv;
    obj.metadata.resourceVersion = String(rv);
    if (type === 'DELETED') this.#objects.delete(obj.metadata.name);
    else this.#objects.set(obj.metadata.name, obj);
    const ev: HistoryEvent = { rv, type, object: obj };
    this.#history.push(ev);
    if (!this.#stalled) for (const w of this.#watchers) this.#sendEvent(w, ev);
    return obj;
  }

  #sendEvent(w: Watcher, ev: HistoryEvent): void {
    if (!matches(ev.object, w.selector)) return;
    this.#send(w, { type: ev.type, object: { apiVersion: this.collection.apiVersion, kind: this.collection.kind, ...ev.object } });
  }

  #send(w: Watcher, line: object): void {
    w.res.write(`${JSON.stringify(line)}\n`);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    if (req.method !== 'GET' || url.pathname !== this.collection.path) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify(status(404, 'NotFound', `fake: no route ${url.pathname}`)));
      return;
    }
    if (url.searchParams.get('watch') === 'true') this.#watch(url.searchParams, res);
    else this.#list(url.searchParams, res);
  }

  #list(q: URLSearchParams, res: ServerResponse): void {
    this.requests.lists++;
    this.requests.listQueries.push(q);
    if (this.#failLists > 0) {
      this.#failLists--;
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify(status(500, 'InternalError', 'fake: list failed')));
      return;
    }
    const selector = parseSelector(q.get('labelSelector'));
    const all = [...this.#objects.values()].filter((o) => matches(o, selector)).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    const [rvOfList, offsetText] = (q.get('continue') ?? `${this.#rv}:0`).split(':');
    const offset = Number(offsetText);
    const limit = Number(q.get('limit') ?? '0') || all.length;
    const items = all.slice(offset, offset + limit);
    const more = offset + limit < all.length;
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        apiVersion: this.collection.apiVersion,
        kind: `${this.collection.kind}List`,
        metadata: { resourceVersion: rvOfList, ...(more && { continue: `${rvOfList}:${offset + limit}` }) },
        items,
      }),
    );
  }

  #watch(q: URLSearchParams, res: ServerResponse): void {
    this.requests.watches++;
    this.requests.watchQueries.push(q);
    if (this.#failWatches > 0) {
      this.#failWatches--;
      res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify(status(403, 'Forbidden', 'fake: watch refused')));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const from = Number(q.get('resourceVersion') ?? '0');
    const w: Watcher = { res, bookmarks: q.get('allowWatchBookmarks') === 'true', selector: parseSelector(q.get('labelSelector')) };
    if (from < this.#oldestRv) {
      this.#send(w, { type: 'ERROR', object: status(410, 'Expired', `fake: too old resource version: ${from} (${this.#oldestRv})`) });
      res.end();
      return;
    }
    this.#watchers.add(w);
    res.on('close', () => this.#watchers.delete(w));
    if (!this.#stalled) for (const ev of this.#history) if (ev.rv > from) this.#sendEvent(w, ev);
  }
}
