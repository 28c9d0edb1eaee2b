/**
 * The image table: how the node agent turns a container image into a local command, so the
 * project's real pod specs run unchanged as processes on this machine.
 *
 * | image (any registry, any tag)                 | ENTRYPOINT              | CMD    |
 * |-----------------------------------------------|-------------------------|--------|
 * | `…/upscale-operator`, `…/upscale-operator/*`  | `node <repo>/bin/upscale.js` | – |
 * | `busybox`, `alpine`, `debian`, `ubuntu`        | –                       | `sh`   |
 * | `node`                                        | `node` (this Node.js)   | –      |
 *
 * Command words are mapped too: `upscale` (or any path ending in `/upscale`) becomes
 * `node <repo>/bin/upscale.js`, `node` becomes this Node.js binary, `sh` becomes `/bin/sh`; other
 * words run as host commands found on PATH. In the project's image the repository is at `/app`,
 * so any argument starting with `/app/` is rewritten to the repository root. As in Kubernetes,
 * a container's `command` replaces ENTRYPOINT and its `args` replace CMD.
 */
import { join } from 'node:path';
import { ClusterError } from '../cluster-error.ts';

/** Where the project's container image keeps the repository (its WORKDIR). */
export const IMAGE_APP_DIR = '/app';

interface ImageRule {
  /** Matches the image repository path without registry host, tag and digest. */
  pattern: RegExp;
  entrypoint: string[];
  cmd: string[];
  /** The image's WORKDIR; undefined: the pod's own folder. */
  workdir?: string;
}

const rules: ImageRule[] = [
  { pattern: /(^|\/)upscale-operator(\/[^/]+)*$/, entrypoint: ['upscale'], cmd: [], workdir: IMAGE_APP_DIR },
  { pattern: /^(library\/)?(busybox|alpine|debian|ubuntu)$/, entrypoint: [], cmd: ['sh'] },
  { pattern: /^(library\/)?node$/, entrypoint: ['node'], cmd: [] },
];

/** The repository path of an image reference: `ghcr.io/a/b:1.0@sha256:…` → `a/b`. */
export function imageRepository(image: string): string {
  let ref = image.split('@')[0] ?? image;
  const lastSlash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > lastSlash) ref = ref.slice(0, colon);
  const parts = ref.split('/');
  // The first part is a registry host when it has a dot or a port, or is localhost.
  if (parts.length > 1 && /[.:]|^localhost$/.test(parts[0] ?? '')) parts.shift();
  return parts.join('/');
}

/** Maps one command word of an image to a host command line. */
function mapWord(word: string, repoRoot: string): string[] {
  if (word === 'upscale' || word.endsWith('/upscale')) return [process.execPath, join(repoRoot, 'bin', 'upscale.js')];
  if (word === 'node' || word.endsWith('/node')) return [process.execPath];
  if (word === 'sh' || word === '/bin/sh' || word === '/bin/busybox') return ['/bin/sh'];
  return [word];
}

/** Maps a path inside the project's image (`/app/...`) to the repository on this machine. */
export function mapAppDir(arg: string, repoRoot: string): string {
  if (arg === IMAGE_APP_DIR) return repoRoot;
  return arg.startsWith(`${IMAGE_APP_DIR}/`) ? join(repoRoot, arg.slice(IMAGE_APP_DIR.length + 1)) : arg;
}

/** A container's host command line and default working directory. */
export interface ResolvedImage {
  argv: string[];
  /** Host folder of the image's WORKDIR, when the image has one. */
  workdir?: string;
}

/**
 * The host argv for a container: applies Kubernetes' ENTRYPOINT/CMD override rules with the
 * image table's defaults, then maps the first word to a host command.
 * Throws `ImageUnknown` when no rule matches the image.
 */
export function resolveImage(image: string, command: readonly string[] | undefined, args: readonly string[] | undefined, repoRoot: string): ResolvedImage {
  const repo = imageRepository(image);
  const rule = rules.find((r) => r.pattern.test(repo));
  if (!rule) {
    throw new ClusterError(
      'ImageUnknown',
      `image ${image} has no entry in the node agent's image table (test/cluster/agent/image-table.ts); known: upscale-operator images, busybox, alpine, debian, ubuntu, node`,
    );
  }
  let words: string[];
  if (command && command.length > 0) words = [...command, ...(args ?? [])];
  else words = [...rule.entrypoint, ...(args && args.length > 0 ? args : rule.cmd)];
  const [first, ...rest] = words;
  if (first === undefined) throw new ClusterError('PodSpecUnresolvable', `image ${image} has neither a command nor a default command`);
  const argv = [...mapWord(first, repoRoot), ...rest.map((a) => mapAppDir(a, repoRoot))];
  return rule.workdir === undefined ? { argv } : { argv, workdir: mapAppDir(rule.workdir, repoRoot) };
}
