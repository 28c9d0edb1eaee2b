/**
 * A built file's SHA-256 comes from the stamp only while the file is the one the stamp describes;
 * a job's model identity is the same whether the stamp vouched or the files were hashed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PRECISIONS, SAMPLE_TYPES, modelPath } from './catalogue.ts';
import { stampedSha256, stampPath, type Stamp } from './stamp.ts';
import { modelIdentity } from '../worker/steps/job-identity.ts';
import { Storage } from '../worker/storage/storage.ts';

const dir = await mkdtemp(join(tmpdir(), 'stamp-test-'));
after(() => rm(dir, { recursive: true, force: true }));
const id = 'realesr-general-x4v3';
const file = join(dir, `${id}.onnx`);
// The recorded hash is deliberately not the content's: a vouched file is not hashed at all.
const recorded = 'a'.repeat(64);

async function layout(content: string, fileTime: number, stampTime: number, bytes = content.length): Promise<void> {
  const stamp: Stamp = {
    modelId: id,
    converterVersion: 'test',
    source: { package: 'p', version: '1', paramSha256: 'x', binSha256: 'y' },
    files: [{ precision: 'fp32', samples: 'uint8', file: `${id}.onnx`, bytes, sha256: recorded }],
  };
  await writeFile(file, content);
  await writeFile(stampPath(id, dir), JSON.stringify(stamp));
  await utimes(file, fileTime, fileTime);
  await utimes(stampPath(id, dir), stampTime, stampTime);
}

test('the stamp vouches for a file of its size written before it', async () => {
  await layout('onnx bytes', 1000, 2000);
  assert.equal(await stampedSha256(id, 'fp32', 'uint8', dir), recorded);
});

test('a file modified after the stamp, or of another size, is hashed instead', async () => {
  await layout('onnx bytes', 3000, 2000);
  assert.equal(await stampedSha256(id, 'fp32', 'uint8', dir), undefined);
  await layout('onnx bytes', 1000, 2000, 999);
  assert.equal(await stampedSha256(id, 'fp32', 'uint8', dir), undefined);
});

test('no stamp, or no entry for the file: hashed', async () => {
  await layout('onnx bytes', 1000, 2000);
  assert.equal(await stampedSha256(id, 'fp16', 'uint8', dir), undefined);
  await rm(stampPath(id, dir));
  assert.equal(await stampedSha256(id, 'fp32', 'uint8', dir), undefined);
});

test("a catalogue model's identity equals the one from hashing its built files", async () => {
  const hash = createHash('sha256');
  for (const precision of PRECISIONS) {
    for (const samples of SAMPLE_TYPES) {
      const label = samples === 'uint8' ? precision : `${precision}.${samples}`;
      const bytes = await readFile(modelPath(id, precision, samples));
      hash.update(`${label} ${createHash('sha256').update(bytes).digest('hex')}\n`);
    }
  }
  const storage = new Storage();
  try {
    assert.deepEqual(await modelIdentity(storage, id), { name: id, sha256: hash.digest('hex') });
  } finally {
    storage.close();
  }
});
