/**
 * GET requests for the read-only http(s) backend. Redirects are followed here, not by Node: at most
 * {@link MAX_REDIRECTS}, each target checked like a URL given by the user (http(s) only, plain http
 * only to loopback), so a server cannot send us to `file://`, to another scheme or down to plain
 * http on the network. Relative redirects keep the URL's user info, as browsers do; a redirect to
 * another host carries none (only the target's own).
 *
 * Transfers ask for `identity` encoding, so byte ranges and lengths are those of the object.
 * TLS: Node's CA store, or the bundle named by `SSL_CERT_FILE` (the variable ffmpeg's reads use
 * too, see worker/media/input-policy.ts), or the `ca` option.
 */
import http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import https from 'node:https';
import { UpscaleError } from '../errors.ts';
import { rangeHeader } from './byte-range.ts';
import { fromHttpError } from './http-errors.ts';
import { httpLocation, redactUrl } from './location.ts';
import type { HttpLocation } from './location.ts';
import type { ByteRange } from './types.ts';

/** Redirects followed per request before giving up (ffmpeg follows at most 8 of its own). */
export const MAX_REDIRECTS = 5;

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

export interface HttpClientOptions {
  /** Trusted CA certificates (PEM) instead of Node's store; default: `SSL_CERT_FILE`'s, when set. */
  ca?: string | Buffer;
  /** Default {@link MAX_REDIRECTS}. */
  maxRedirects?: number;
  /**
   * Socket inactivity limit (connecting, waiting for headers, between body chunks); default 30 s. A
   * reader that pauses a body for longer ends it with ETIMEDOUT (`Unavailable`, transient).
   */
  timeoutMs?: number;
}

/** A final (non-redirect) response; `body` must be consumed or destroyed. */
export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
  /** How many redirects led here. */
  redirects: number;
}

export interface HttpClient {
  /** GETs `location` (or `range` of it), following redirects; any final status is returned. */
  get(location: HttpLocation, range: ByteRange | undefined, doing: string): Promise<HttpResponse>;
  close(): void;
}

export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const maxRedirects = options.maxRedirects ?? MAX_REDIRECTS;
  const timeout = options.timeoutMs ?? 30_000;
  const agents = {
    'http:': new http.Agent({ keepAlive: true }),
    'https:': new https.Agent({ keepAlive: true, ...(options.ca === undefined ? {} : { ca: options.ca }) }),
  };

  const once = (url: URL, headers: Record<string, string>): Promise<IncomingMessage> =>
    new Promise((resolve, reject) => {
      const transport = url.protocol === 'https:' ? https : http;
      const agent = url.protocol === 'https:' ? agents['https:'] : agents['http:'];
      const request = transport.request(url, { method: 'GET', headers, agent, timeout }, resolve);
      request.on('timeout', () => request.destroy(Object.assign(new Error(`no response for ${timeout} ms`), { code: 'ETIMEDOUT' })));
      request.on('error', reject);
      request.end();
    });

  return {
    async get(location, range, doing) {
      const header = rangeHeader(range);
      const headers: Record<string, string> = { 'accept-encoding': 'identity', 'user-agent': 'upscale-operator', ...(header ? { range: header } : {}) };
      let url = new URL(location.url);
      for (let redirects = 0; ; redirects++) {
        let response: IncomingMessage;
        try {
          response = await once(url, headers);
        } catch (error) {
          throw fromHttpError(error, doing, location);
        }
        const status = response.statusCode ?? 0;
        if (!REDIRECT_STATUSES.has(status)) return { status, headers: response.headers, body: response, redirects };
        response.resume();
        url = redirectTarget(response.headers.location, url, redirects, maxRedirects, doing, location);
      }
    },
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}

/** The checked next URL of a redirect, or a permanent error naming the original and the target. */
function redirectTarget(
  header: string | undefined,
  from: URL,
  redirects: number,
  maxRedirects: number,
  doing: string,
  location: HttpLocation,
): URL {
  const subject = location.uri;
  const refuse = (what: string): UpscaleError => new UpscaleError('InvalidInput', `${doing} ${subject}: ${what}`, { subject });
  if (header === undefined || header === '') throw refuse('the server sent a redirect without a Location');
  let next: URL;
  try {
    next = new URL(header, from);
  } catch {
    throw refuse('the server redirected to an invalid URL');
  }
  if (next.protocol !== 'https:' && next.protocol !== 'http:') {
    throw new UpscaleError('Unsupported', `${doing} ${subject}: refusing a redirect to a ${next.protocol} URL: only http(s) redirects are followed`, { subject });
  }
  if (redirects >= maxRedirects) throw refuse(`more than ${maxRedirects} redirects (the last to ${redactUrl(next.href)})`);
  try {
    httpLocation(next.href);
  } catch (error) {
    const reason = error instanceof UpscaleError ? error.message : String(error);
    throw new UpscaleError('Unsupported', `${doing} ${subject}: refusing a redirect: ${reason}`, { subject });
  }
  return next;
}
