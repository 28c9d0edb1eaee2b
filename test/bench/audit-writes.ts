/**
 * Counts API writes per client from the test cluster's audit log (one JSON line per write, see
 * AUDIT_POLICY in test/cluster/control-plane.ts): `apiserver_request_total` has no client label,
 * the audit log names the user of every request.
 */
import { open } from 'node:fs/promises';

/** One audit event, the fields counted. */
interface AuditEvent {
  stage?: string;
  verb?: string;
  user?: { username?: string };
  objectRef?: { resource?: string; subresource?: string; namespace?: string };
}

/** Writes by client: username -> "verb resource[/subresource]" -> count. */
export type WritesByClient = Record<string, Record<string, number>>;

/**
 * Counts the completed writes in `lines` (audit log JSON lines) that `keep` accepts, by username
 * and verb/resource. Lines that are not audit events (a cut last line) are skipped.
 */
export function countWrites(lines: readonly string[], keep: (namespace: string | undefined, username: string) => boolean): WritesByClient {
  const out: WritesByClient = {};
  for (const line of lines) {
    if (line.trim() === '') continue;
    let e: AuditEvent;
    try {
      e = JSON.parse(line) as AuditEvent;
    } catch {
      continue;
    }
    if (e.stage !== 'ResponseComplete' || e.verb === undefined) continue;
    const user = e.user?.username ?? '(unknown)';
    if (!keep(e.objectRef?.namespace, user)) continue;
    const what = `${e.verb} ${e.objectRef?.resource ?? '?'}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''}`;
    const mine = (out[user] ??= {});
    mine[what] = (mine[what] ?? 0) + 1;
  }
  return out;
}

/** Total writes of one client (or all clients). */
export function total(writes: WritesByClient, user?: string): number {
  const users = user === undefined ? Object.keys(writes) : [user];
  return users.reduce((n, u) => n + Object.values(writes[u] ?? {}).reduce((a, b) => a + b, 0), 0);
}

/** The audit log's size now, to read only what comes after. */
export async function auditOffset(file: string): Promise<number> {
  const fh = await open(file, 'r').catch(() => undefined);
  if (fh === undefined) return 0;
  try {
    return (await fh.stat()).size;
  } finally {
    await fh.close();
  }
}

/** The lines written to the audit log since `offset` (a rotation in between loses the older part). */
export async function auditLinesSince(file: string, offset: number): Promise<string[]> {
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const from = size >= offset ? offset : 0;
    const buf = Buffer.alloc(size - from);
    await fh.read(buf, 0, buf.length, from);
    return buf.toString('utf8').split('\n');
  } finally {
    await fh.close();
  }
}
