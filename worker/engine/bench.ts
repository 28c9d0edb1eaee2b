/**
 * CPU benchmark of the engine (not a test): frames/s and achieved GFLOP/s (the catalogue's FLOPs
 * per input pixel x pixels x frames / seconds) for both models at 160x120 and 320x240, next to a
 * plain ONNX Runtime session run on the same frames in the same process with the same options.
 * engine/plain shows what the engine's threads, copies and tiling cost.
 *
 *   npm run bench:engine [-- --models realesr-general-x4v3 --sizes 160x120 --frames 4]
 */
// Before onnxruntime-node: it reads these settings when it loads.
import './ort-env.ts';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import pino from 'pino';
import { getModel, MODEL_IDS, modelPath } from '../../models/catalogue.ts';
import type { ModelId } from '../../models/catalogue.ts';
import { describeCpu } from './devices.ts';
import { createEngine } from './engine.ts';
import type { InputFrame } from './engine.ts';
import { sessionOptionsFor } from './session-options.ts';
import { videoFrames } from './test-frames.ts';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: MODEL_IDS.join(',') },
    sizes: { type: 'string', default: '160x120,320x240' },
    /** Timed frames per run; x4plus gets at most 2 (about 4 s per 160x120 frame on 2 cores). */
    frames: { type: 'string', default: '4' },
  },
});

interface Row {
  model: string;
  size: string;
  frames: number;
  engineFps: number;
  plainFps: number;
  engineGflops: number;
  plainGflops: number;
  ratio: number;
}

/**
 * Times the plain session and the engine on the same frames, alternating halves (plain, engine,
 * plain, engine) so that both see the same background load on a shared machine.
 * @returns frames/s of [engine, plain]
 */
async function timeBoth(id: ModelId, frames: readonly InputFrame[], threads: number): Promise<[number, number]> {
  const session = await ort.InferenceSession.create(modelPath(id, 'fp32'), sessionOptionsFor({ provider: 'cpu', deviceId: 0, threads, logSeverityLevel: 3 }));
  const engine = await createEngine({ model: { id }, provider: 'cpu', precision: 'fp32', cpuThreads: threads }, { logger: pino({ level: 'warn' }) });
  const plainRun = async (frame: InputFrame): Promise<void> => {
    const out = await session.run({ input: new ort.Tensor('uint8', frame.data, [1, frame.height, frame.width, 3]) });
    for (const t of Object.values(out)) t.dispose();
  };
  try {
    const [first] = frames;
    if (first === undefined) return [0, 0];
    // Warm-up: arena growth and kernel selection for this shape, in both.
    await plainRun(first);
    await engine.upscale(first);
    const half = Math.ceil(frames.length / 2);
    const blocks = [frames.slice(0, half), frames.slice(half)].filter((b) => b.length > 0);
    let plainSeconds = 0;
    let engineSeconds = 0;
    for (const block of blocks) {
      let t = performance.now();
      for (const frame of block) await plainRun(frame);
      plainSeconds += (performance.now() - t) / 1000;
      t = performance.now();
      for await (const _frame of engine.upscaleStream(block)) void _frame;
      engineSeconds += (performance.now() - t) / 1000;
    }
    return [frames.length / engineSeconds, frames.length / plainSeconds];
  } finally {
    await engine.close();
    await session.release();
  }
}

const cpu = describeCpu();
const threads = cpu.cores;
console.log(`CPU: ${cpu.name}, ${cpu.cores} threads, onnxruntime-node ${ort.env.versions.node ?? '?'}; fp32, untiled, batch 1`);
console.log('model                 size      frames  engine fps  GFLOP/s   plain fps  GFLOP/s   engine/plain');
const rows: Row[] = [];
for (const id of values.models.split(',') as ModelId[]) {
  const model = getModel(id);
  for (const size of values.sizes.split(',')) {
    const [width, height] = size.split('x').map(Number) as [number, number];
    const count = model.architecture === 'RRDBNet' ? Math.min(2, Number(values.frames)) : Number(values.frames);
    const frames = await videoFrames(30, count, width, height);
    const gflopPerFrame = (model.flopsPerInputPixel * width * height) / 1e9;
    const [engineFps, plainFps] = await timeBoth(id, frames, threads);
    const row: Row = { model: id, size, frames: count, engineFps, plainFps, engineGflops: engineFps * gflopPerFrame, plainGflops: plainFps * gflopPerFrame, ratio: engineFps / plainFps };
    rows.push(row);
    console.log(
      `${id.padEnd(22)}${size.padEnd(10)}${String(count).padStart(6)}  ${engineFps.toFixed(3).padStart(10)}  ${row.engineGflops.toFixed(1).padStart(7)}   ${plainFps.toFixed(3).padStart(9)}  ${row.plainGflops.toFixed(1).padStart(7)}   ${row.ratio.toFixed(3).padStart(12)}`,
    );
  }
}
console.log(JSON.stringify({ bench: 'engine-cpu', cpu, rows }));
