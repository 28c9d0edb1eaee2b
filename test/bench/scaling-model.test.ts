import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jobSeconds, scalingCurve, type ScalingInputs } from './scaling-model.ts';
import { efficiencyPlot } from './svg-plot.ts';

const base: ScalingInputs = { frames: 14_400, fps: 27, startupSeconds: 10, probeSeconds: 5, perPodSeconds: 0.1, assembleFixedSeconds: 1, assembleSecondsPerMiB: 0.01, assembleSecondsPerThousandFrames: 0.5, outputMiB: 3000, cv: 0.1 };

test('one GPU is the whole video at its frame rate plus the fixed steps, efficiency 1', () => {
  const [one] = scalingCurve(base, [1]);
  assert.ok(one !== undefined);
  assert.equal(one.efficiency, 1);
  // 4 shards on one worker: 4 start-ups, 14,400 / 27 s of frames, probe, one pod, assembly
  // (a pod start, 1 s, 3,000 MiB x 0.01 s, 14.4 thousand frames x 0.5 s).
  const expected = 5 + 0.1 + (4 * 10 + 14_400 / 27) + (10 + 1 + 30 + 7.2);
  assert.ok(Math.abs(one.seconds - expected) < 1e-9, `${one.seconds} vs ${expected}`);
});

test('efficiency falls as GPUs grow, because probe and assembly do not shrink', () => {
  const curve = scalingCurve(base, [1, 2, 4, 8, 16, 64]);
  for (let i = 1; i < curve.length; i++) assert.ok(curve[i]!.efficiency < curve[i - 1]!.efficiency, JSON.stringify(curve.map((c) => c.efficiency)));
  // 16 shards at most (the sizing rule): past 16 GPUs the job gets no faster, only the stragglers grow.
  const [one, , , eight, sixteen, sixtyFour] = curve;
  assert.ok(eight!.seconds < one!.seconds / 3);
  assert.ok(sixtyFour!.seconds >= sixteen!.seconds);
});

test('the product\'s sizing rule caps the shard count when start-up would dominate', () => {
  // 64 GPUs x 4 = 256 shards wanted; 10 s start-up at 27 fps: >= 2,700 frames a shard for 10% (5
  // shards), and the first wave fills idle GPUs down to 30% (900 frames): 16 shards.
  const p = jobSeconds(base, 64);
  assert.equal(p.shards, 16);
  assert.equal(p.waves, 1);
});

test('the shards are taken as workers free up, and the last wave is the plan\'s shorter one', () => {
  // 1.2 s start-up at 27 fps: 4 GPUs get 16 shards, 12 of 1,029 or 1,028 frames and a last wave of
  // 4 of 515 or 514, which the GPUs take so that each does 3,600 frames in 4 shards.
  const fast = { ...base, startupSeconds: 1.2 };
  const p = jobSeconds(fast, 4);
  assert.deepEqual([p.shards, p.waves], [16, 4]);
  const perGpu = 4 * 1.2 + 3600 / 27;
  assert.ok(Math.abs(p.parts.shards - perGpu) < 1e-9, `${p.parts.shards} vs ${perGpu}`);
  // The straggler is a last-wave shard's spread, not a full shard's.
  const spread = (frames: number) => (1.2 + frames / 27) * 0.1 * Math.sqrt(2 * Math.log(4));
  assert.ok(p.parts.straggler >= spread(514) - 1e-9 && p.parts.straggler <= spread(515) + 1e-9, String(p.parts.straggler));
  // 20 equal shards on 16 GPUs: two shard-times, where the plan's own 16 take one.
  const twenty = jobSeconds({ ...fast, shardCount: 20 }, 16);
  assert.ok(Math.abs(twenty.parts.shards - 2 * (1.2 + 720 / 27)) < 1e-9, String(twenty.parts.shards));
  assert.ok(jobSeconds(fast, 16).parts.shards < twenty.parts.shards);
});

test('bad inputs are refused naming the input', () => {
  assert.throws(() => jobSeconds({ ...base, fps: 0 }, 2), /fps > 0/);
  assert.throws(() => jobSeconds({ ...base, cv: Number.NaN }, 2), /scaling input cv must be/);
  assert.throws(() => jobSeconds(base, 0), /gpus must be a whole number/);
});

test('the plot is an SVG with one polyline per modelled series and a marker per point', () => {
  const svg = efficiencyPlot('t <1>', [1, 2, 4], [{ name: 'model', colour: '#06c', points: [[1, 1], [2, 0.9], [4, 0.8]] }, { name: 'measured', colour: '#c60', points: [[1, 1]], markersOnly: true }]);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal(svg.match(/<polyline/g)?.length, 1);
  assert.equal(svg.match(/<circle/g)?.length, 4);
  assert.match(svg, /t &lt;1&gt;/);
});

test('a streamed assembly leaves its tail after the last shard, or what the last wave could not hide', () => {
  const serial = jobSeconds(base, 4);
  const streamed = jobSeconds({ ...base, streamedTail: 0.5 }, 4);
  const whole = 1 + 30 + 7.2;
  // One shard lasts 10 + 3,600 / 27 = 143.3 s, far longer than the 48.2 s assembly with its pod start: the tail is left.
  assert.ok(Math.abs(streamed.parts.assemble - 0.5 * whole) < 1e-9, String(streamed.parts.assemble));
  assert.ok(Math.abs(serial.parts.assemble - streamed.parts.assemble - (10 + 0.5 * whole)) < 1e-9);
  // Short shards (a fixed count of 1,000 over 1,000 GPUs, 14 or 15 frames, ~10.5 s each) hide only that much of it:
  // the longest, 15 frames, ends last.
  const short = jobSeconds({ ...base, streamedTail: 0.5, shardCount: 1000 }, 1000);
  const shardSeconds = 10 + 15 / 27;
  assert.ok(Math.abs(short.parts.assemble - (10 + whole - shardSeconds)) < 1e-9, String(short.parts.assemble));
  assert.throws(() => jobSeconds({ ...base, streamedTail: 1.5 }, 2), /streamedTail must be a share/);
  // With several waves it starts when at most one wave has no pod, so the last two waves hide it:
  // 16 shards on 4 GPUs at 1.2 s start-up, a third-wave shard of ~1,028.5 frames and a last one of
  // ~514.5 (59.5 s), against a 1.2 s pod start + 108.2 s assembly (10,000 MiB).
  const long = jobSeconds({ ...base, startupSeconds: 1.2, streamedTail: 0.1, outputMiB: 10_000 }, 4);
  const beside = 1.2 + 1028.5 / 27 + 1.2 + 514.5 / 27;
  assert.ok(Math.abs(long.parts.assemble - (1.2 + 1 + 100 + 7.2 - beside)) < 0.1, String(long.parts.assemble));
});
