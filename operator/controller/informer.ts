/**
 * A supervised informer: a local cache of one collection, kept current by client-node's
 * `ListWatch`, with the supervision ListWatch lacks (kubernetes-client/javascript#447, #795,
 * #1933):
 *
 * - **Restart after every error.** ListWatch recovers by itself only from 410 Gone (relist) and
 *   its own inactivity timeout (resume); any other error — a failed LIST, 403, ECONNRESET — fires
 *   `error` and leaves it stopped. We restart it after a jittered exponential back-off
 *   (1 s → 30 s), resuming from the last resourceVersion when there is one.
 * - **"Last seen" watchdog.** If no event or bookmark arrives for `silenceMs` (default 5 min), the
 *   stream is presumed stuck and replaced by a fresh LIST + WATCH. A fresh list is also a resync:
 *   whatever the cache got wrong is repaired, and objects that vanished meanwhile are reported.
 * - **One object form.** The cache holds wire JSON (`wire.ts`): timestamps are RFC 3339 strings
 *   whether the object came from a LIST (client-node gives `Date`s) or a WATCH (strings), and
 *   list items get the `apiVersion`/`kind` that LIST responses leave out.
 * - **Paginated LIST** (`limit`/`continue`), which ListWatch does not do. Each page is converted
 *   (and trimmed) as it arrives, so a long list never holds every typed model object at once.
 * - **One copy, trimmed.** An optional `transform` (e.g. dropping `managedFields`) runs before an
 *   object reaches ListWatch, so its cache and ours share the one trimmed object.
 *
 * Consumers get `on('change', obj => …)` for every add, update and delete, without the event
 * type: a controller enqueues `keyOf(obj)` and reads the current state from `get()`.
 */
import { ListWatch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { Backoff, type BackoffOptions } from './backoff.ts';
import { keyOf } from './keys.ts';
import { ObjectCache } from './object-cache.ts';
import type { ListPage, Resource, ResourceFactory } from './resources.ts';
import { SupervisedWatch } from './supervised-watch.ts';
import { toWire, type Wire } from './wire.ts';

/** The slice of a pino logger the informer writes to. */
export interface InformerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Options of {@link Informer}. */
export interface InformerOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** Which collection, e.g. `jobs`, `pods`, `upscaleJobs` from `resources.ts`. */
  resource: ResourceFactory<T>;
  /** Watch one namespace; undefined watches all namespaces. */
  namespace?: string | undefined;
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
  /** Relist when no event or bookmark arrived for this long (ms); default 300 000. */
  silenceMs?: number;
  /** Restart delays after an error; default 1 s doubling to 30 s, 20 % jitter. */
  backoff?: BackoffOptions;
  /** `healthy()` turns false when the informer has been failing for this long (ms); default 120 000. */
  unhealthyAfterMs?: number;
  /** A watch connection silent for this long (ms) is reopened from the last resourceVersion; default 90 000. */
  watchInactivityMs?: number;
  /** LIST page size; default 500, as client-go's reflector. */
  pageSize?: number;
  /** Millisecond wall clock; default `Date.now`. */
  now?: () => number;
  log?: InformerLogger;
  /** Derives an index value per object (undefined: not indexed), read back with `byIndex`. */
  indexBy?: (obj: Wire<T>) => string | undefined;
  /** What of each object is cached (default: all of it); a pure function of the object. */
  transform?: (obj: Wire<T>) => Wire<T>;
}

/** Counters for tests and debugging. */
export interface InformerStats {
  /** Completed LISTs (all pages of one list count once). */
  lists: number;
  /** Watch connections that got their 200 response. */
  watches: number;
  /** Lines received on watch streams, bookmarks included. */
  events: number;
  bookmarks: number;
  /** Restarts after an `error` of ListWatch. */
  errorRestarts: number;
  /** Fresh relists because the stream was silent for `silenceMs`. */
  silenceRestarts: number;
}

const noLog: InformerLogger = { info: () => undefined, warn: () => undefined };

/** A supervised, cached list+watch of one collection; see the module comment. */
export class Informer<T extends KubernetesObject> {
  readonly #kc: KubeConfig;
  readonly #resource: Resource<T>;
  readonly #labelSelector: string | undefined;
  readonly #fieldSelector: string | undefined;
  readonly #silenceMs: number;
  readonly #unhealthyAfterMs: number;
  readonly #inactivityMs: number;
  readonly #pageSize: number;
  readonly #now: () => number;
  readonly #log: InformerLogger;
  readonly #backoff: Backoff;
  readonly #transform: (obj: Wire<T>) => Wire<T>;

  readonly #cache: ObjectCache<Wire<T>>;
  readonly #changeListeners: ((obj: Wire<T>) => void)[] = [];
  readonly #errorListeners: ((err: unknown) => void)[] = [];
  readonly #stats: InformerStats = { lists: 0, watches: 0, events: 0, bookmarks: 0, errorRestarts: 0, silenceRestarts: 0 };

  /** Bumped whenever the running ListWatch is replaced or stopped; callbacks of older ones are ignored. */
  #generation = 0;
  #listWatch: ListWatch<KubernetesObject> | undefined;
  #started = false;
  #stopped = false;
  #hasSynced = false;
  readonly #synced: Promise<void>;
  #resolveSynced: () => void = () => undefined;
  #rejectSynced: (err: Error) => void = () => undefined;
  #lastSeen = 0;
  /** Since when the informer has been failing without a working watch; undefined when it is not. */
  #failingSince: number | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;

  constructor(opts: InformerOptions<T>) {
    this.#kc = opts.kubeConfig;
    this.#resource = opts.resource(opts.kubeConfig, opts.namespace);
    this.#labelSelector = opts.labelSelector;
    this.#fieldSelector = opts.fieldSelector;
    this.#silenceMs = opts.silenceMs ?? 300_000;
    this.#unhealthyAfterMs = opts.unhealthyAfterMs ?? 120_000;
    this.#inactivityMs = opts.watchInactivityMs ?? 90_000;
    this.#pageSize = opts.pageSize ?? 500;
    this.#now = opts.now ?? Date.now;
    this.#log = opts.log ?? noLog;
    this.#backoff = new Backoff(opts.backoff);
    this.#transform = opts.transform ?? ((obj) => obj);
    this.#cache = new ObjectCache<Wire<T>>((obj) => this.#emit(obj), opts.indexBy);
    this.#synced = new Promise<void>((resolve, reject) => {
      this.#resolveSynced = resolve;
      this.#rejectSynced = reject;
    });
    // Nobody may be awaiting synced() when stop() rejects it; that must not crash the process.
    this.#synced.catch(() => undefined);
  }

  /** What this informer watches, for logs. */
  get description(): string {
    return this.#resource.description;
  }

  /** Starts listing and watching. Once only; an informer cannot be restarted after `stop()`. */
  start(): void {
    if (this.#started) throw new Error(`informer of ${this.description} was already started`);
    this.#started = true;
    this.#startListWatch();
    this.#watchdog = setInterval(() => this.#checkSilence(), Math.max(10, Math.min(5000, this.#silenceMs / 4)));
    // The watchdog only checks; it must not keep a finished process alive.
    this.#watchdog.unref();
  }

  /** Stops watching; `synced()` rejects if the first list had not completed. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#watchdog);
    clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    this.#generation++;
    if (!this.#hasSynced) this.#rejectSynced(new Error(`informer of ${this.description} stopped before its first list completed`));
    const lw = this.#listWatch;
    this.#listWatch = undefined;
    await lw?.stop();
  }

  /** Resolves when the first LIST is in the cache (gate readiness and workers on it). */
  synced(): Promise<void> {
    return this.#synced;
  }

  /** Whether the first LIST is in the cache. */
  hasSynced(): boolean {
    return this.#hasSynced;
  }

  /**
   * False when the informer has been failing (restarting after errors, no watch open) for longer
   * than `unhealthyAfterMs`: for /healthz, so a wedged operator gets restarted.
   */
  healthy(): boolean {
    return this.#failingSince === undefined || this.#now() - this.#failingSince < this.#unhealthyAfterMs;
  }

  /** The cached objects, of one namespace or of all. Read-only: they are shared, not copies. */
  list(namespace?: string): Wire<T>[] {
    return this.#cache.list(namespace);
  }

  /** The cached object, or undefined. Pass namespace undefined for a cluster-scoped object. */
  get(namespace: string | undefined, name: string): Wire<T> | undefined {
    return this.#cache.get(namespace, name);
  }

  /** The cached objects whose `indexBy` value is `value` (shared, not copies). */
  byIndex(value: string): Wire<T>[] {
    return this.#cache.byIndex(value);
  }

  /** Counters for tests and debugging. */
  stats(): Readonly<InformerStats> {
    return { ...this.#stats };
  }

  /**
   * `change`: an object was added, updated or deleted (for a delete, its last state). Handlers
   * run synchronously and must not throw; a handler that throws is logged and skipped.
   * `error`: ListWatch failed and a restart is scheduled (for logging and metrics); a throwing
   * listener is logged and skipped.
   */
  on(event: 'change', cb: (obj: Wire<T>) => void): void;
  on(event: 'error', cb: (err: unknown) => void): void;
  on(event: 'change' | 'error', cb: ((obj: Wire<T>) => void) | ((err: unknown) => void)): void {
    if (event === 'change') this.#changeListeners.push(cb);
    else this.#errorListeners.push(cb as (err: unknown) => void);
  }

  /** Replaces the running ListWatch (if any) by a new one, which starts with a fresh LIST. */
  #startListWatch(): void {
    const old = this.#listWatch;
    const generation = ++this.#generation;
    if (old) void old.stop();
    const current = (): boolean => generation === this.#generation && !this.#stopped;
    const watch = new SupervisedWatch(
      this.#kc,
      {
        isCurrent: current,
        onConnected: () => {
          this.#stats.watches++;
          this.#failingSince = undefined;
        },
        onEvent: (type) => {
          this.#lastSeen = this.#now();
          this.#stats.events++;
          if (type === 'BOOKMARK') this.#stats.bookmarks++;
          // Events flow again: the next error starts its back-off from the beginning.
          this.#backoff.reset();
        },
        cached: (obj) => this.#cached(obj as T),
      },
      this.#inactivityMs,
    );
    const lw = new ListWatch<KubernetesObject>(this.#resource.path, watch, () => this.#list(current), false, this.#labelSelector, this.#fieldSelector);
    // Objects reach ListWatch already in cached form (the watch hook and #list convert them).
    lw.on('add', (obj) => current() && this.#cache.store(obj as Wire<T>));
    lw.on('update', (obj) => current() && this.#cache.store(obj as Wire<T>));
    lw.on('delete', (obj) => current() && this.#cache.remove(obj as Wire<T>));
    lw.on('error', (err) => current() && this.#failed(err, lw, current));
    this.#listWatch = lw;
    this.#lastSeen = this.#now();
    this.#run(lw, current);
  }

  #run(lw: ListWatch<KubernetesObject>, current: () => boolean): void {
    // ListWatch reports failures through 'error'; a rejection here would be a bug in it.
    lw.start().catch((err: unknown) => current() && this.#failed(err, lw, current));
  }

  /** ListWatch stopped on an error: restart it after the back-off, resuming where it was. */
  #failed(err: unknown, lw: ListWatch<KubernetesObject>, current: () => boolean): void {
    this.#failingSince ??= this.#now();
    this.#stats.errorRestarts++;
    const delayMs = Math.round(this.#backoff.next());
    this.#log.warn({ resource: this.description, err, retryInMs: delayMs }, 'Watch failed, scheduled restart');
    clearTimeout(this.#restartTimer);
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (!current()) return;
      // The silence clock restarts too: a back-off is not a silent stream.
      this.#lastSeen = this.#now();
      // start() keeps ListWatch's resourceVersion: it resumes the watch, or relists when it has
      // none (the LIST failed) or the server answers 410 Gone.
      this.#run(lw, current);
    }, delayMs);
    // After the restart is scheduled, so a throwing listener cannot prevent it.
    for (const cb of this.#errorListeners) {
      try {
        cb(err);
      } catch (listenerErr) {
        this.#log.warn({ resource: this.description, err: listenerErr }, 'Error listener failed');
      }
    }
  }

  #checkSilence(): void {
    if (this.#stopped || this.#restartTimer !== undefined) return;
    const silentMs = this.#now() - this.#lastSeen;
    if (silentMs < this.#silenceMs) return;
    this.#stats.silenceRestarts++;
    this.#log.info({ resource: this.description, silentMs }, 'Watch was silent too long, relisted');
    this.#startListWatch();
  }

  /** An object as the caches hold it: wire JSON, trimmed by `transform`. */
  #cached(obj: T): Wire<T> {
    return this.#transform(toWire(obj));
  }

  /** Lists all pages, replaces the cache with the result, and hands ListWatch the same items. */
  async #list(current: () => boolean): Promise<KubernetesListObject<KubernetesObject>> {
    const items: Wire<T>[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    let apiVersion: string | undefined;
    let listKind: string | undefined;
    do {
      let page: ListPage<T>;
      try {
        page = await this.#resource.listPage({ labelSelector: this.#labelSelector, fieldSelector: this.#fieldSelector, limit: this.#pageSize, continue: cont });
      } catch (err) {
        throw new Error(`listing ${this.description}`, { cause: err });
      }
      apiVersion ??= page.apiVersion;
      listKind ??= page.kind;
      const kind = listKind?.endsWith('List') ? listKind.slice(0, -'List'.length) : undefined;
      for (const item of page.items) {
        const w = toWire(item);
        // LIST items lack apiVersion and kind (the list carries them); watch events have them.
        items.push(this.#transform(w.kind === undefined && kind !== undefined ? { ...w, apiVersion: w.apiVersion ?? apiVersion, kind } : w));
      }
      cont = page.continue;
      resourceVersion = page.resourceVersion;
    } while (cont);
    // A replaced ListWatch's late list must not overwrite the newer one's cache; throwing ends it.
    if (!current()) throw new Error(`stale list of ${this.description} dropped`);
    this.#stats.lists++;
    this.#lastSeen = this.#now();
    // ListWatch then reports these same items again; the cache takes them as no change.
    this.#cache.replace(items);
    if (!this.#hasSynced) {
      this.#hasSynced = true;
      this.#resolveSynced();
    }
    return { metadata: { resourceVersion }, items: items as KubernetesObject[] };
  }

  #emit(obj: Wire<T>): void {
    for (const cb of this.#changeListeners) {
      try {
        cb(obj);
      } catch (err) {
        this.#log.warn({ resource: this.description, err, object: keyOf(obj) }, 'Change handler failed');
      }
    }
  }
}
