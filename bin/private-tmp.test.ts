import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ownerIsGone, sweepDeadFolders, type FolderOwner } from './private-tmp.ts';

const here = { host: 'h', boot: 'b', pidns: 'pid:[1]' };
const owner = (o: Partial<FolderOwner> = {}): FolderOwner => ({ pid: 10, started: 500, ...here, ...o });

describe('ownerIsGone', () => {
  it('is gone when its pid is not running, or runs as a process started at another time', () => {
    assert.equal(ownerIsGone(owner(), here, { running: false }), true);
    assert.equal(ownerIsGone(owner(), here, { running: true, started: 900 }), true);
    assert.equal(ownerIsGone(owner(), here, { running: true, started: 500 }), false);
  });

  it('is never gone for another host, boot or pid namespace, an unknown state or unknown facts', () => {
    for (const other of [{ host: 'x' }, { boot: 'x' }, { pidns: 'pid:[2]' }, { boot: '' }, { pidns: '' }]) {
      assert.equal(ownerIsGone(owner(other), here, { running: false }), false, JSON.stringify(other));
    }
    assert.equal(ownerIsGone(owner(), here, 'unknown'), false);
    assert.equal(ownerIsGone(owner({ started: -1 }), here, { running: true, started: 900 }), false);
  });
});

describe('sweepDeadFolders', () => {
  let parent: string;
  before(async () => {
    parent = await mkdtemp(join(os.tmpdir(), 'sweep-'));
  });
  after(() => rm(parent, { recursive: true, force: true }));

  async function folder(name: string, o: FolderOwner | string | undefined): Promise<string> {
    const dir = join(parent, name);
    await mkdir(join(dir, 'upscale-shard-x'), { recursive: true });
    await writeFile(join(dir, 'upscale-shard-x', 'shard.nut.partial'), 'x');
    if (o !== undefined) await writeFile(join(dir, 'owner.json'), typeof o === 'string' ? o : JSON.stringify(o));
    return dir;
  }

  it('removes the folders of processes gone from this host, and only those', async () => {
    const me = { host: os.hostname(), boot: (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim(), pidns: await readlink('/proc/self/ns/pid') };
    // A pid that ran and exited.
    const done = spawnSync('true');
    const deadPid = done.pid ?? 0;
    // A live process, and its real start time.
    const live = spawn('sleep', ['30']);
    try {
      const liveStarted = Number((await readFile(`/proc/${live.pid}/stat`, 'utf8')).split(') ')[1]?.split(' ')[19]);
      const dead = await folder(`upscale-${deadPid}-AAAAAA`, { pid: deadPid, started: 1, ...me });
      const reused = await folder(`upscale-${live.pid}-BBBBBB`, { pid: live.pid ?? 0, started: liveStarted - 1, ...me });
      const alive = await folder(`upscale-${live.pid}-CCCCCC`, { pid: live.pid ?? 0, started: liveStarted, ...me });
      const foreign = await folder(`upscale-${deadPid}-DDDDDD`, { pid: deadPid, started: 1, ...me, host: 'another-host' });
      const otherNs = await folder(`upscale-${deadPid}-EEEEEE`, { pid: deadPid, started: 1, ...me, pidns: 'pid:[1]' });
      const noOwner = await folder(`upscale-${deadPid}-FFFFFF`, undefined);
      const garbled = await folder(`upscale-${deadPid}-GGGGGG`, '{"pid":');
      const wrongPid = await folder(`upscale-${deadPid + 1}-HHHHHH`, { pid: deadPid, started: 1, ...me });
      const notOurs = await folder(`e2e-${deadPid}-IIIIII`, { pid: deadPid, started: 1, ...me });
      const own = await folder(`upscale-${deadPid}-JJJJJJ`, { pid: deadPid, started: 1, ...me });

      const removed = sweepDeadFolders(parent, own);
      assert.deepEqual(removed.sort(), [dead, reused].sort());
      for (const kept of [alive, foreign, otherNs, noOwner, garbled, wrongPid, notOurs, own]) assert.ok(existsSync(kept), kept);
      assert.equal((await readdir(parent)).length, 8);
    } finally {
      live.kill('SIGKILL');
    }
  });

  it('gives nothing for a folder that cannot be read', () => {
    assert.deepEqual(sweepDeadFolders(join(parent, 'missing')), []);
  });
});
