/**
 * List-then-watch with the restarts a long-running agent needs. client-node 2.0.1's Watch ends
 * a connection after 30 s without data (its requestTimeoutMs), and any watch can end with an
 * error or 410 Gone; this loop resumes from the last resourceVersion, relists on 410 or error,
 * and relists every `resyncMs` anyway as a watchdog against a silently stalled stream.
 */
import { Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '../cluster-error.ts';
import type { Logger } from '../log.ts';

/** Options of a list-watch loop. */
export interface ListWatchOptions<T extends KubernetesObject> {
  kc: KubeConfig;
  /** Collection path, e.g. `/api/v1/pods`. */
  path: string;
  /** Query parameters of both list and watch (fieldSelector, labelSelector). */
  query: Record<string, string>;
  /** Lists the collection; returns the items and the list's resourceVersion. */
  list: () => Promise<{ items: T[]; resourceVersion: string }>;
  /** Called with every object of a (re)list; objects missing from it were deleted. */
  onList: (items: T[]) => void;
  onEvent: (type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T) => void;
  log: Logger;
  resyncMs?: number;
}

/** Starts the loop; the returned function stops it. */
export function listWatch<T extends KubernetesObject>(opts: ListWatchOptions<T>): () => void {
  let stopped = false;
  let abort: AbortController | undefined;
  const watch = new Watch(opts.kc);
  const resyncMs = opts.resyncMs ?? 30_000;

  const watchOnce = (resourceVersion: string, until: number): Promise<{ rv: string; gone: boolean }> =>
    new Promise((resolve) => {
      let rv = resourceVersion;
      let gone = false;
      let settled = false;
      const finish = () => {
        if (settled) return;
        settled = true;
        clearTimeout(watchdog);
        resolve({ rv, gone });
      };
      // Server-side timeout below the client's 30 s inactivity cut, so streams end cleanly.
      const timeoutSeconds = Math.max(1, Math.min(25, Math.floor((until - Date.now()) / 1000)));
      const watchdog = setTimeout(() => {
        abort?.abort();
        finish();
      }, (timeoutSeconds + 10) * 1000);
      watch
        .watch(
          opts.path,
          { ...opts.query, resourceVersion: rv, allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) },
          (type: string, obj: T & { code?: number }) => {
            if (type === 'BOOKMARK') {
              rv = obj.metadata?.resourceVersion ?? rv;
            } else if (type === 'ERROR') {
              gone = obj.code === 410;
              abort?.abort();
              finish();
            } else if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') {
              rv = obj.metadata?.resourceVersion ?? rv;
              opts.onEvent(type, obj);
            }
          },
          (err: unknown) => {
            if (err && !(err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError'))) {
              opts.log.debug({ path: opts.path, err: describeError(err) }, 'Watch ended with an error');
            }
            finish();
          },
        )
        .then((controller) => {
          abort = controller;
          if (settled) controller.abort();
        })
        .catch(() => finish());
    });

  void (async () => {
    while (!stopped) {
      try {
        const { items, resourceVersion } = await opts.list();
        opts.onList(items);
        let rv = resourceVersion;
        const relistAt = Date.now() + resyncMs;
        while (!stopped && Date.now() < relistAt) {
          const res = await watchOnce(rv, relistAt);
          if (res.gone) break;
          rv = res.rv;
        }
      } catch (err) {
        opts.log.warn({ path: opts.path, err: describeError(err) }, 'Failed to list; retrying');
        await sleep(1000);
      }
    }
  })();

  return () => {
    stopped = true;
    abort?.abort();
  };
}
