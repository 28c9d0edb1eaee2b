/**
 * client-node's `Watch`, as the informer hands it to `ListWatch`, with what ListWatch lacks:
 *
 * - it asks for bookmarks (`allowWatchBookmarks`), so a quiet collection still shows signs of life
 *   and the resume point stays fresh;
 * - it tells the informer when a connection is up and when any line arrives (the "last seen"
 *   watchdog and the health check are built on that);
 * - it goes quiet once the informer has replaced or stopped the ListWatch it belongs to, so a late
 *   event of an aborted connection can never touch the cache;
 * - it hands ListWatch each object as the informer caches it (`cached`), so ListWatch's own
 *   cache holds the informer's trimmed object, not a second, full one;
 * - a failure before the request is sent (credentials, no current cluster) reaches ListWatch as an
 *   error like any other, instead of an unhandled rejection.
 */
import { Watch, type KubeConfig } from '@kubernetes/client-node';

/** How the watch reports to its informer. */
export interface WatchHooks {
  /** False once the informer has replaced or stopped the ListWatch this watch serves. */
  isCurrent(): boolean;
  /** A watch request got its 200 response: the stream is open. */
  onConnected(): void;
  /** A line arrived on the stream: `ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK` or `ERROR`. */
  onEvent(type: string): void;
  /** The object of an `ADDED`, `MODIFIED` or `DELETED` event as the informer caches it. */
  cached(obj: unknown): unknown;
}

const OBJECT_EVENTS = new Set(['ADDED', 'MODIFIED', 'DELETED']);

type WatchArgs = Parameters<Watch['watch']>;

/** A `Watch` that reports to {@link WatchHooks}; see the module comment. */
export class SupervisedWatch extends Watch {
  readonly #hooks: WatchHooks;

  /**
   * @param inactivityMs how long a connection may stay silent before client-node aborts it and
   *   ListWatch resumes from the last resourceVersion. client-node's 30 s default is shorter than
   *   the API server's bookmark interval (about a minute), so every quiet watch would be cut before
   *   its first bookmark.
   */
  constructor(kc: KubeConfig, hooks: WatchHooks, inactivityMs: number) {
    super(kc);
    this.#hooks = hooks;
    // `requestTimeoutMs` is private in the typings but a plain property of 2.0.1's Watch; since
    // #3022 it is the inactivity timeout (reset on every chunk), not a limit on the whole request.
    Reflect.set(this, 'requestTimeoutMs', inactivityMs);
  }

  override async watch(path: WatchArgs[0], queryParams: WatchArgs[1], callback: WatchArgs[2], done: WatchArgs[3]): Promise<AbortController> {
    const hooks = this.#hooks;
    if (!hooks.isCurrent()) return new AbortController();
    let finished = false;
    const onDone = (err: unknown): void => {
      finished = true;
      done(err);
    };
    try {
      const controller = await super.watch(
        path,
        { ...queryParams, allowWatchBookmarks: true },
        (phase, apiObj, watchObj) => {
          if (!hooks.isCurrent()) return;
          hooks.onEvent(phase);
          // ERROR carries a Status and BOOKMARK only a resourceVersion: those pass as they are.
          callback(phase, OBJECT_EVENTS.has(phase) ? hooks.cached(apiObj) : apiObj, watchObj);
        },
        onDone,
      );
      if (!finished && hooks.isCurrent()) hooks.onConnected();
      return controller;
    } catch (err) {
      if (!finished) onDone(err);
      return new AbortController();
    }
  }
}
