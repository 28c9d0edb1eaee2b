/**
 * `upscale operator` loads only what the operator uses: no ONNX Runtime, no AWS SDK, no ffmpeg
 * wrapper. Each is memory held for the process's life (the operator's RSS budget is 256 MiB, of
 * which the Kubernetes client's ~870 modules already take the largest share). The modules are
 * those Node actually loads, counted by a load hook in a child process.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { REPO } from '../test/fixtures/clips.ts';

const probe = `
import { registerHooks } from 'node:module';
const packages = new Set();
registerHooks({ load(url, context, next) { const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(url); if (m) packages.add(m[1]); return next(url, context); } });
await import(${JSON.stringify(pathToFileURL(`${REPO}/bin/operator-command.ts`).href)});
console.log(JSON.stringify([...packages].sort()));
`;

test('the operator command loads the Kubernetes client and no ONNX Runtime, AWS SDK or ffmpeg wrapper', () => {
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: REPO, encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  const packages = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '[]') as string[];
  assert.ok(packages.includes('@kubernetes/client-node'), `loaded: ${packages.join(', ')}`);
  const unwanted = packages.filter((p) => p === 'onnxruntime-node' || p.startsWith('@aws-sdk/') || p.startsWith('@smithy/') || p === 'fluent-ffmpeg');
  assert.deepEqual(unwanted, []);
});
