/**
 * Provider choice on a machine without GPUs (this one and CI): `auto` skips TensorRT, CUDA and
 * WebGPU, logs why each was skipped, and ends on the CPU; naming an unavailable one is an error.
 * A provider whose libraries are missing is skipped untried (no session, no native error output);
 * one that looks installed is tried once, not once per precision.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { UpscaleError } from '../errors.ts';
import { createEngine } from './engine.ts';
import { gatherProviderFacts } from './provider-presence.ts';

interface LogLine {
  msg: string;
  provider?: string;
  reason?: string;
  [key: string]: unknown;
}

function capture(): { logger: pino.Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  return { lines, logger: pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as LogLine) }) };
}

const GENERAL = { id: 'realesr-general-x4v3' } as const;
// Visible GPUs none: keeps the test independent of a GPU that a developer machine might have.
const env = { CUDA_VISIBLE_DEVICES: '', NVIDIA_VISIBLE_DEVICES: 'none' };

describe('execution provider choice', () => {
  it('falls through unavailable providers in order, logging each reason, and logs one inventory line', async () => {
    const { logger, lines } = capture();
    const engine = await createEngine({ model: GENERAL }, { logger, env });
    try {
      assert.equal(engine.info.provider, 'cpu');
      assert.equal(engine.info.precision, 'fp32', 'auto precision is fp32 on the CPU');
      const skipped = lines.filter((l) => l.msg === 'Skipped execution provider');
      // Once each; on this machine untried, since their libraries (and a Vulkan driver) are absent.
      assert.deepEqual(skipped.map((l) => l.provider), ['tensorrt', 'cuda', 'webgpu']);
      for (const line of skipped) assert.ok(typeof line.reason === 'string' && line.reason.length > 0, JSON.stringify(line));
      assert.match(skipped[0]?.reason ?? '', /libonnxruntime_providers_shared\.so.* not installed in /);
      assert.deepEqual(skipped.map((l) => l.tried), [false, false, false]);
      const inventory = lines.filter((l) => l.msg === 'Started inference engine');
      assert.equal(inventory.length, 1);
      assert.equal(inventory[0]?.provider, 'cpu');
      assert.equal(inventory[0]?.model, 'realesr-general-x4v3');
      assert.equal(inventory[0]?.precision, 'fp32');
      assert.ok(typeof inventory[0]?.tileSize === 'number' && inventory[0].tileSize > 0);
      const devices = inventory[0]?.devices as { device: string; name: string }[];
      assert.equal(devices[0]?.device, 'cpu:0');
      const frame = { data: new Uint8Array(8 * 8 * 3).fill(128), width: 8, height: 8, index: 0 };
      assert.equal((await engine.upscale(frame)).width, 32);
    } finally {
      await engine.close();
    }
  });

  it('tries a provider that looks installed once, not once per precision, and then falls through', async () => {
    const { logger, lines } = capture();
    // Claim the CUDA libraries are there: ONNX Runtime then really tries and fails to load them.
    const real = gatherProviderFacts();
    const facts = { ...real, libraries: [...real.libraries, 'libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'] };
    const engine = await createEngine({ model: GENERAL, provider: 'auto' }, { logger, env, providerFacts: facts });
    try {
      assert.equal(engine.info.provider, 'cpu');
      const skipped = lines.filter((l) => l.msg === 'Skipped execution provider');
      assert.deepEqual(skipped.map((l) => [l.provider, l.tried ?? true]), [['tensorrt', false], ['cuda', true], ['webgpu', false]]);
      assert.match(skipped[1]?.reason ?? '', /shared library|load/i);
    } finally {
      await engine.close();
    }
  });

  for (const provider of ['cuda', 'tensorrt', 'webgpu'] as const) {
    it(`fails clearly when ${provider} is named but unavailable`, async () => {
      const { logger } = capture();
      await assert.rejects(createEngine({ model: GENERAL, provider, precision: 'fp32' }, { logger, env }), (error: unknown) => {
        assert.ok(error instanceof UpscaleError);
        assert.equal(error.code, 'Unsupported');
        assert.equal(error.kind, 'permanent');
        assert.equal(error.subject, provider);
        assert.match(error.message, new RegExp(`starting execution provider "${provider}": it is not available on this machine: ${provider} \\((fp32|any)\\): .+`));
        return true;
      });
    });
  }

  it('runs an fp16 model on the CPU when asked, close to fp32', async () => {
    const frame = { data: Uint8Array.from({ length: 16 * 12 * 3 }, (_, i) => (i * 29) & 255), width: 16, height: 12, index: 0 };
    const run = async (precision: 'fp16' | 'fp32'): Promise<Uint8Array> => {
      const engine = await createEngine({ model: GENERAL, provider: 'cpu', precision }, { logger: pino({ level: 'silent' }) });
      try {
        assert.equal(engine.info.precision, precision);
        return (await engine.upscale(frame)).data;
      } finally {
        await engine.close();
      }
    };
    const [half, full] = [await run('fp16'), await run('fp32')];
    let sum = 0;
    for (let i = 0; i < half.length; i++) sum += Math.abs((half[i] ?? 0) - (full[i] ?? 0));
    assert.ok(sum / half.length < 1, `mean difference ${sum / half.length}`);
  });

  it('rejects invalid options naming the field', async () => {
    await assert.rejects(createEngine({ model: GENERAL, provider: 'tpu' as 'cpu' }), (error: unknown) => {
      assert.ok(error instanceof UpscaleError);
      assert.equal(error.code, 'InvalidArgument');
      assert.match(error.message, /engine options are invalid: .*provider/);
      return true;
    });
  });
});
