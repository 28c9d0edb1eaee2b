/**
 * onnxruntime-node 1.30's telemetry stays off in a process that runs sessions through the engine's
 * session threads (ort-env.ts): with real ONNX Runtime, a process that creates a session and runs a
 * frame writes no telemetry store into its home or cache folder and no `mat-debug-<pid>.log` into
 * its temporary folder. The same process with `ORT_DISABLE_TELEMETRY=0` writes the store, so the
 * test looks where the library writes.
 *
 * ONNX Runtime also turns telemetry off by itself when it sees a CI service's variable (`CI`,
 * `GITHUB_ACTIONS`, ... : the names below are the ones in libonnxruntime.so 1.30), so the child runs
 * without them: otherwise, under CI, the first test passes whatever ort-env.ts does and the second
 * fails.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { modelPath } from '../../models/catalogue.ts';

/** The variables by which ONNX Runtime 1.30 decides it runs under CI and sends nothing. */
const CI_MARKERS = [
  'CI',
  'TF_BUILD',
  'GITHUB_ACTIONS',
  'GITLAB_CI',
  'CIRCLECI',
  'TRAVIS',
  'JENKINS_URL',
  'CODEBUILD_BUILD_ID',
  'BUILDKITE',
  'TEAMCITY_VERSION',
  'APPVEYOR',
  'BITBUCKET_BUILD_NUMBER',
  'SYSTEM_TEAMFOUNDATIONCOLLECTIONURI',
];

/** Every path under `dir`, relative to it. */
async function tree(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

/** Runs one session and one frame in a child process with its own home, cache and temporary folders; returns what it left in them. */
async function leftBehind(telemetry: string | undefined): Promise<{ home: string[]; tmp: string[] }> {
  const root = await mkdtemp(join(tmpdir(), 'ort-env-'));
  try {
    const home = join(root, 'home');
    const tmp = join(root, 'tmp');
    await mkdir(home);
    await mkdir(tmp);
    const file = join(root, 'one-frame.mjs');
    await writeFile(
      file,
      `import { readFileSync } from 'node:fs';
      import { SessionClient } from ${JSON.stringify(new URL('./session-client.ts', import.meta.url).href)};
      const client = await SessionClient.start({ modelBytes: readFileSync(${JSON.stringify(modelPath('realesr-general-x4v3', 'fp32'))}), sessionOptions: { intraOpNumThreads: 1 }, label: 'cpu:0' });
      await client.run(new Uint8Array(32 * 32 * 3), [1, 32, 32, 3]);
      process.exit(0);`,
    );
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_CACHE_HOME: join(home, '.cache'), TMPDIR: tmp };
    delete env['ORT_DISABLE_TELEMETRY'];
    for (const name of CI_MARKERS) delete env[name];
    if (telemetry !== undefined) env['ORT_DISABLE_TELEMETRY'] = telemetry;
    const child = spawn(process.execPath, [file], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, stderr);
    return { home: await tree(home), tmp: await tree(tmp) };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

test('a process running sessions leaves no telemetry store and no mat-debug log behind', { timeout: 120_000 }, async () => {
  const off = await leftBehind(undefined);
  assert.deepEqual(off.home, [], `written into the home folder: ${off.home.join(', ')}`);
  assert.deepEqual(off.tmp.filter((f) => f.startsWith('mat-debug')), [], `written into the temporary folder: ${off.tmp.join(', ')}`);
});

test('ORT_DISABLE_TELEMETRY=0 turns it back on (the store appears where the first test looked)', { timeout: 120_000 }, async () => {
  const on = await leftBehind('0');
  assert.ok(on.home.some((f) => f.includes(join('Microsoft', 'DeveloperTools'))), `home folder: ${on.home.join(', ')}`);
});
