/**
 * `dependencies` is exactly what the shipped program imports: the image installs them alone
 * (`npm ci --omit=dev`, see the Dockerfile). A runtime import of a devDependency would fail in the
 * image only; a dependency nothing at runtime imports (a build script's or a test's) only makes the
 * image bigger. The import graph is read from the sources, starting at the CLI, the postinstall
 * script and every module started by URL (worker threads, shard processes).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { REPO } from '../test/fixtures/clips.ts';

const packageJson = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
const ENTRIES = ['bin/upscale.js', 'models/build.ts'];

// Value imports and re-exports (`import type` is erased, so it needs no package at runtime),
// dynamic imports and modules started by URL (`new URL('./session-worker.ts', import.meta.url)`).
const SPECIFIERS = [
  /^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm,
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  /\bnew URL\(\s*['"](\.{1,2}\/[^'"]+\.ts)['"]\s*,\s*import\.meta\.url\s*\)/g,
];

function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

/** The packages the runtime graph imports, each with one module that imports it. */
function runtimePackages(): Map<string, string> {
  const seen = new Set<string>();
  const packages = new Map<string, string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const pattern of SPECIFIERS) {
      for (const match of source.matchAll(pattern)) {
        const specifier = match[1] as string;
        if (specifier.startsWith('.')) {
          const target = resolve(dirname(file), specifier);
          assert.ok(existsSync(target), `${relative(REPO, file)} imports ${specifier}, which does not exist`);
          visit(target);
        } else if (!specifier.startsWith('node:')) {
          if (!packages.has(packageOf(specifier))) packages.set(packageOf(specifier), relative(REPO, file));
        }
      }
    }
  };
  for (const entry of ENTRIES) visit(join(REPO, entry));
  assert.ok(seen.size > 50, `read ${seen.size} modules: the graph reader found too few imports`);
  return packages;
}

test('the runtime imports no devDependency', () => {
  const dev = [...runtimePackages()].filter(([name]) => name in packageJson.devDependencies).map(([name, by]) => `${name} (imported by ${by})`);
  assert.deepEqual(dev, [], 'move these to "dependencies"');
});

test('every runtime package is a dependency, and every dependency is used at runtime', () => {
  const used = runtimePackages();
  const missing = [...used].filter(([name]) => !(name in packageJson.dependencies)).map(([name, by]) => `${name} (imported by ${by})`);
  assert.deepEqual(missing, [], 'add these to "dependencies"');
  const unused = Object.keys(packageJson.dependencies).filter((name) => !used.has(name));
  assert.deepEqual(unused, [], 'only build scripts or tests use these: move them to "devDependencies"');
});
