/**
 * GPU throughput of the engine, run by engine-gpu.sh on the GPU machine: for each model, size,
 * execution provider and precision, frames/s of `upscaleStream` on one real frame repeated, after
 * a warm-up, for a few seconds. A provider that cannot start is reported with ONNX Runtime's
 * reason and skipped. The first output of each model at the first size is saved for
 * engine_gpu.py, which compares it with the PyTorch reference (PSNR).
 *
 *   node test/gpu/engine-gpu.ts --models realesr-general-x4v3 --sizes 640x360,1280x720 \
 *     --frames-dir .device/engine-gpu --save .device/work [--providers tensorrt,cuda,webgpu] [--seconds 6]
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { getModel } from '../../models/catalogue.ts';
import type { ModelId } from '../../models/catalogue.ts';
import { createEngine } from '../../worker/engine/engine.ts';
import type { InputFrame } from '../../worker/engine/engine.ts';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'realesr-general-x4v3,RealESRGAN_x4plus' },
    sizes: { type: 'string', default: '640x360,1280x720' },
    providers: { type: 'string', default: 'tensorrt,cuda,webgpu' },
    precisions: { type: 'string', default: 'fp16,fp32' },
    seconds: { type: 'string', default: '6' },
    'frames-dir': { type: 'string', default: '.device/engine-gpu' },
    save: { type: 'string' },
  },
});

type Provider = 'tensorrt' | 'cuda' | 'webgpu' | 'cpu';
const seconds = Number(values.seconds);
const log = pino({ level: 'info' }, pino.destination(2));
const results: object[] = [];
const saved = new Set<string>();

async function loadFrame(size: string): Promise<InputFrame> {
  const [width, height] = size.split('x').map(Number) as [number, number];
  const data = new Uint8Array(await readFile(join(values['frames-dir'], `frame-${size}.rgb`)));
  if (data.byteLength !== width * height * 3) throw new Error(`frame-${size}.rgb has ${data.byteLength} bytes`);
  return { data, width, height, index: 0 };
}

/** The same frame, re-indexed, for as long as the time budget lasts (at least `min` frames). */
async function* repeat(frame: InputFrame, until: () => boolean, min: number): AsyncGenerator<InputFrame> {
  for (let index = 0; index < min || !until(); index++) yield { ...frame, index };
}

for (const id of values.models.split(',') as ModelId[]) {
  const model = getModel(id);
  for (const provider of values.providers.split(',') as Provider[]) {
    for (const precision of values.precisions.split(',') as ('fp16' | 'fp32')[]) {
      let engine;
      const startedAt = performance.now();
      try {
        engine = await createEngine({ model: { id }, provider, precision, tileSize: 0 }, { logger: log });
      } catch (error) {
        console.log(`${id} ${provider} ${precision}: unavailable: ${(error as Error).message.slice(0, 300)}`);
        results.push({ model: id, provider, precision, unavailable: (error as Error).message });
        continue;
      }
      const loadSeconds = (performance.now() - startedAt) / 1000;
      try {
        for (const size of values.sizes.split(',')) {
          const frame = await loadFrame(size);
          const warmStart = performance.now();
          const first = await engine.upscale(frame);
          await engine.upscale({ ...frame, index: 1 });
          const warmSeconds = (performance.now() - warmStart) / 1000;
          const key = `${id}-${size}`;
          if (values.save !== undefined && !saved.has(key)) {
            await writeFile(join(values.save, `${key}.rgb`), first.data);
            saved.add(key);
          }
          const start = performance.now();
          const elapsed = (): number => (performance.now() - start) / 1000;
          let frames = 0;
          for await (const _ of engine.upscaleStream(repeat(frame, () => elapsed() >= seconds, 3))) frames++;
          const fps = frames / elapsed();
          const gflops = (fps * model.flopsPerInputPixel * frame.width * frame.height) / 1e9;
          const device = engine.info.devices.map((d) => d.name).join(', ');
          console.log(
            `${id} ${size} ${engine.info.provider} ${engine.info.precision} batch ${engine.info.batchSize}: ${fps.toFixed(2)} fps (${gflops.toFixed(0)} GFLOP/s, ${frames} frames; session ${loadSeconds.toFixed(1)} s, warm-up ${warmSeconds.toFixed(1)} s) on ${device}`,
          );
          results.push({ model: id, size, provider: engine.info.provider, precision: engine.info.precision, batch: engine.info.batchSize, fps, gflops, frames, loadSeconds, warmSeconds, device });
        }
      } catch (error) {
        console.log(`${id} ${provider} ${precision}: failed: ${(error as Error).message.slice(0, 300)}`);
        results.push({ model: id, provider, precision, failed: (error as Error).message });
      } finally {
        await engine.close();
      }
    }
  }
}
console.log(JSON.stringify({ bench: 'engine-gpu', results }));
