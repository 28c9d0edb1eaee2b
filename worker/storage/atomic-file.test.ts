import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { discard, isTemporaryName, openTemporary, publish, reserveTemporary } from './atomic-file.ts';

describe('atomic local files', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'atomic-file-'));
  after(() => rm(dir, { recursive: true, force: true }));

  it('reserves an empty, hidden temporary beside the final name, in a directory it creates', async () => {
    const final = join(dir, 'new', 'out.mp4');
    const tmp = await reserveTemporary(final);
    assert.equal(join(tmp, '..'), join(final, '..'));
    assert.ok(isTemporaryName(tmp.slice(tmp.lastIndexOf('/') + 1)), tmp);
    assert.equal((await stat(tmp)).size, 0);
    // Created exclusively: the same name cannot be opened for writing a second time.
    await assert.rejects(openTemporary(tmp), { code: 'EEXIST' });
    await discard(tmp);
    assert.deepEqual(await readdir(join(dir, 'new')), []);
  });

  it('publishes what another writer put into the reserved file, and refuses to replace unless told', async () => {
    const final = join(dir, 'out.nut');
    const first = await reserveTemporary(final);
    await writeFile(first, 'one');
    await publish(first, final, false);
    assert.equal(await readFile(final, 'utf8'), 'one');

    const second = await reserveTemporary(final);
    await writeFile(second, 'two');
    await assert.rejects(publish(second, final, false), { code: 'EEXIST' });
    assert.equal(await readFile(final, 'utf8'), 'one');
    await publish(second, final, true);
    assert.equal(await readFile(final, 'utf8'), 'two');
    assert.deepEqual(await readdir(dir).then((names) => names.filter(isTemporaryName)), []);
  });
});
