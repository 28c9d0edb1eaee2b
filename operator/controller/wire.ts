/**
 * One form for objects in the informer cache: the JSON the API server sends.
 *
 * client-node hands out two forms of the same object (kubernetes-client/javascript#487): LIST
 * responses of the typed APIs are deserialized into model classes whose timestamps are `Date`s,
 * while WATCH events are parsed JSON whose timestamps are RFC 3339 strings. Converting strings to
 * `Date` would need a list of every timestamp field of every kind; converting `Date`s to strings
 * needs none, so the cache holds wire JSON: every timestamp is a string, as the API server
 * writes it (`metav1.Time` is whole seconds in UTC, `2024-05-01T10:00:00Z`), and fields that
 * are undefined are absent.
 *
 * `MicroTime` fields (events' `eventTime`, leases' `renewTime`) need nothing: client-node's
 * deserializer has no model for them and leaves them as the server's strings, microseconds kept.
 * Only a `Date` with milliseconds (which no server timestamp has) keeps them: `…:05.123Z`.
 */

/** `T` as wire JSON: `Date` fields become strings. */
export type Wire<T> = T extends Date
  ? string
  : T extends readonly (infer U)[]
    ? Wire<U>[]
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;

/** A `Date` as the API server writes a `metav1.Time`: RFC 3339, whole seconds when it has no milliseconds. */
export function formatTime(d: Date): string | null {
  // JSON.stringify writes an invalid Date as null; so do we.
  if (Number.isNaN(d.getTime())) return null;
  const iso = d.toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

/**
 * `value` as wire JSON. Copy-on-write: a part that needs no change is returned as is, so a watch
 * event (already wire JSON) costs no copy and is shared, not duplicated, with client-node's own
 * cache. Treat the result as read-only.
 */
export function toWire<T>(value: T): Wire<T> {
  return convert(value) as Wire<T>;
}

function convert(value: unknown): unknown {
  if (value instanceof Date) return formatTime(value);
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const c = convert(v);
      if (c !== v || v === undefined) {
        out ??= value.slice(0, i);
        // JSON writes an undefined array element as null.
        out.push(c === undefined ? null : c);
      } else if (out) {
        out.push(v);
      }
    }
    return out ?? value;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    let changed = Object.getPrototypeOf(value) !== Object.prototype;
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) {
      if (v === undefined || typeof v === 'function') {
        changed = true;
        continue;
      }
      const c = convert(v);
      if (c !== v) changed = true;
      out[k] = c;
    }
    // Model class instances (V1Pod, …) always become plain objects, like everything else.
    return changed ? out : value;
  }
  return value;
}
