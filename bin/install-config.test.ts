/**
 * `npm ci` as a newcomer meets it: quiet, and future-proof. npm 11 warns about a project `.npmrc`
 * key it does not know (a package's own setting such as `onnxruntime-node-install`: a future npm
 * stops honouring those) and about a dependency whose install script `allowScripts` does not cover.
 * These checks read the lockfile, so a new dependency with an install script fails here first.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO } from '../test/fixtures/clips.ts';

const packageJson = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { hasInstallScript?: boolean }> };

test('every dependency with an install script is named in allowScripts', () => {
  const withScripts = Object.entries(lock.packages)
    .filter(([where, info]) => where !== '' && info.hasInstallScript === true)
    .map(([where]) => where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length));
  assert.ok(withScripts.includes('onnxruntime-node'), 'the lockfile lists onnxruntime-node with its install script');
  const uncovered = withScripts.filter((name) => packageJson.allowScripts?.[name] === undefined);
  assert.deepEqual(uncovered, [], 'add these to package.json "allowScripts" (false unless the script is needed)');
});

test("onnxruntime-node's install script (the CUDA download from NuGet) is denied", () => {
  assert.equal(packageJson.allowScripts?.['onnxruntime-node'], false);
});

test('the project .npmrc sets only npm settings, no package-specific keys', () => {
  const keys = readFileSync(join(REPO, '.npmrc'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#') && !line.startsWith(';'))
    .map((line) => line.split('=')[0]?.trim() ?? '');
  // npm's own settings that this project uses; anything else is a package's key npm warns about.
  const known = new Set(['engine-strict', 'fund', 'audit', 'save-exact', 'allow-scripts']);
  assert.deepEqual(keys.filter((key) => !known.has(key)), []);
});
