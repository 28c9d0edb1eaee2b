/**
 * Per-request options for client-node calls. client-node sets no timeout on ordinary requests, so
 * one API call that never answers would hold a reconcile worker (and its key) forever; every write
 * of the operator is bounded instead, and fails like any other transient error.
 */
import { Observable, setHeaderOptions, type ConfigurationOptions, type ObservableMiddleware } from '@kubernetes/client-node';

/** How long one write to the API server may take. */
export const WRITE_TIMEOUT_MS = 30_000;

/** Options that abort the request after `timeoutMs`, plus a Content-Type when given (patches). */
export function requestOptions(opts: { timeoutMs?: number; contentType?: string } = {}): ConfigurationOptions {
  const timeout: ObservableMiddleware = {
    pre: (ctx) => {
      ctx.setSignal(AbortSignal.timeout(opts.timeoutMs ?? WRITE_TIMEOUT_MS));
      return new Observable(Promise.resolve(ctx));
    },
    post: (rsp) => new Observable(Promise.resolve(rsp)),
  };
  const base: ConfigurationOptions = { middleware: [timeout], middlewareMergeStrategy: 'append' };
  return opts.contentType === undefined ? base : setHeaderOptions('Content-Type', opts.contentType, base);
}
