/**
 * The one place that strips secrets out of URLs and free text. A URL's user info
 * (`user:password@`), query string and fragment can carry credentials (passwords, presigned
 * signatures, credential scopes), and the worker's loopback media proxy puts a read capability in
 * its path. Everything that logs, reports or throws a URL or third-party text (ffmpeg's stderr, SDK
 * messages) goes through here.
 */

/** Marks a dropped query or fragment, so a reader knows something was removed. */
export const REDACTED_QUERY = '?<redacted>';

/** The media proxy's URL shape: `http://127.0.0.1:<port>/<32-char token>/...`. */
const PROXY_TOKEN = /(http:\/\/127\.0\.0\.1:\d+\/)[A-Za-z0-9_-]{32}\//g;

/**
 * One http(s) URL made safe to log: user info dropped, query and fragment replaced by
 * {@link REDACTED_QUERY}, the media proxy's token replaced. Non-URLs are returned unchanged.
 */
export function redactUrl(url: string): string {
  const match = /^(https?:\/\/)([^/?#]*)([^?#]*)([?#][\s\S]*)?$/i.exec(url);
  if (match === null) return url;
  const [, scheme = '', authority = '', path = '', query] = match;
  // WHATWG URL parsers split user info at the last `@` of the authority.
  const host = authority.slice(authority.lastIndexOf('@') + 1);
  return `${scheme}${host}${path}${query === undefined ? '' : REDACTED_QUERY}`.replace(PROXY_TOKEN, '$1<redacted>/');
}

/**
 * Every URL inside free text made safe, whatever its scheme (https, rtmp, s3...): user info
 * (greedy up to the last `@` before the path, so a password holding a raw `@` is hidden whole),
 * query and fragment, and the media proxy's token.
 */
export function redactUrlsIn(text: string): string {
  return text
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#]*@/gi, '$1<redacted>@')
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/[^\s?#'"`]*)[?#][^\s'"`]*/gi, `$1${REDACTED_QUERY}`)
    .replace(PROXY_TOKEN, '$1<redacted>/');
}
