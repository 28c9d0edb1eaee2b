import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { mayHaveNvenc } from './nvenc-presence.ts';

describe('mayHaveNvenc', async () => {
  const root = await mkdtemp(join(tmpdir(), 'nvenc-presence-'));
  after(() => rm(root, { recursive: true, force: true }));
  const devWith = async (name: string, ...files: string[]): Promise<string> => {
    const dir = join(root, name);
    await mkdir(dir);
    for (const f of files) await writeFile(join(dir, f), '');
    return dir;
  };

  it('is false for a /dev without NVIDIA device nodes (a CPU-only machine)', async () => {
    assert.equal(mayHaveNvenc(await devWith('cpu-only', 'null', 'zero', 'dri', 'nvme0')), false);
  });
  it('is true with the driver control node', async () => {
    assert.equal(mayHaveNvenc(await devWith('ctl', 'null', 'nvidiactl')), true);
  });
  it('is true with a GPU node alone', async () => {
    assert.equal(mayHaveNvenc(await devWith('gpu', 'nvidia3')), true);
  });
  it('is true under WSL 2 (the dxg bridge)', async () => {
    assert.equal(mayHaveNvenc(await devWith('wsl', 'dxg')), true);
  });
  it('is true when /dev cannot be read (the test encode decides)', () => {
    assert.equal(mayHaveNvenc(join(root, 'missing')), true);
  });
});
