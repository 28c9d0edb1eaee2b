/**
 * The `upscale` command (launched by bin/upscale.js): `run` (the whole job locally) and the steps the cluster's pods run
 * (`probe`, `shard`, `assemble`). Exit codes: 0 success, 2 permanent failure (bad input: retrying
 * cannot help), 3 transient failure (retrying may help); see worker/errors.ts.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
// Each command's module is loaded when it runs: a local run never loads the Kubernetes client
// (some 0.8 s on 2 cores), the operator never loads ONNX Runtime.
import type { StepFlags } from './step-command.ts';
import type { RunFlags } from './run-command.ts';
import type { OperatorFlags } from './operator-command.ts';
import { usePrivateTmpdir } from './private-tmp.ts';
import { applyOperatorV8Flags } from '../operator/v8-flags.ts';
import { MODEL_IDS } from '../models/catalogue.ts';

function integer(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

function seconds(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || n <= 0) throw new InvalidArgumentError('expected a positive number of seconds');
  return n;
}

function tile(value: string): number | 'auto' {
  return value === 'auto' ? 'auto' : integer(0, 16384)(value);
}

// Before any work: everything this process and its children put in TMPDIR goes at exit (a signal
// before the command has its own handlers exits through the exit handlers too: signals.ts).
usePrivateTmpdir();

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('upscale')
  .version(version, '-V, --version', 'print the version')
  .description('Real-ESRGAN video upscaling: locally (run) or as the steps of a cluster job (probe, shard, assemble)')
  .showHelpAfterError()
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2));

program
  .command('run')
  .description('upscale a video on this machine: probe, shard across local workers, assemble')
  .requiredOption('-i, --input <path|uri>', 'source video (a path, file:// or s3://bucket/key) or a local PNG, JPEG or WebP image')
  .requiredOption('-o, --output <path|uri>', 'output; the container or image format follows the extension (.mp4, .mkv, .webm, .mov; .png, .jpg, .webp for an image)')
  .option('-m, --model <id|path|uri>', `${MODEL_IDS.join(', ')}, or an ONNX model`, 'realesr-general-x4v3')
  .addOption(new Option('-s, --scale <n>', 'output scale').choices(['2', '3', '4']))
  .option('--width <px>', 'output width (with only --width the height keeps the aspect; even for 4:2:0 codecs)', integer(2, 16384))
  .option('--height <px>', 'output height (with only --height the width keeps the aspect)', integer(2, 16384))
  .option('-w, --workers <n>', 'local worker processes (default: one per GPU, else one)', integer(1, 256))
  .option('--shard-frames <n>', 'frames per shard (default: sized for the workers)', integer(1))
  .option('--start <time>', 'upscale from this time: seconds (12.5) or HH:MM:SS.mmm, from the first frame')
  .option('--duration <time>', 'upscale this long from --start (seconds or HH:MM:SS.mmm)')
  .option('--frames <n|A-B>', 'upscale n frames from --start, or source frames A to B (0-based, inclusive)')
  .option('--tile <n|auto>', 'tile edge in input pixels, 0 = no tiling', tile, 'auto')
  .addOption(new Option('--precision <p>', 'model precision').choices(['auto', 'fp32', 'fp16']).default('auto'))
  .addOption(new Option('--ep <provider>', 'execution provider').choices(['auto', 'cpu', 'webgpu', 'cuda', 'tensorrt']).default('auto'))
  .option('--no-multi-gpu', 'use only the first visible GPU')
  .addOption(new Option('--codec <codec>', 'video codec (default: av1 for .webm, hevc for a 10-bit source, else h264)').choices(['h264', 'hevc', 'av1', 'ffv1']))
  .option('--crf <n>', 'constant rate factor (x264/x265 0-51, SVT-AV1 0-63)', integer(0, 63))
  .option('--preset <name>', 'encoder preset (x264/x265 ultrafast..placebo, SVT-AV1 0-13, NVENC p1-p7)')
  .option('--quality <n>', 'JPEG/WebP image quality (default 95)', integer(1, 100))
  .option('--png-compression <n>', "PNG zlib level, 0 = fastest (default: ffmpeg's)", integer(0, 9))
  .addOption(new Option('--deinterlace <mode>', 'interlaced sources: auto = deinterlace (bwdif), off = keep fields').choices(['auto', 'off']).default('auto'))
  .option('--max-pixels <n>', 'refuse a source whose frames have more pixels (default 67108864 = 8192x8192)', integer(1, 2 ** 28))
  .option('--max-streams <n>', 'audio + subtitle streams kept from the source; later ones are dropped with a warning (default 64)', integer(0, 10000))
  .option('--overwrite', 'replace an existing output', false)
  .option('--keep-intermediates', 'keep <output>.upscale/<job-id>/ after success', false)
  .option('--no-progress', 'no progress bar, JSON logs only')
  .option('--log-level <level>', 'pino log level', process.env['UPSCALE_LOG_LEVEL'] ?? 'info')
  .action(async (flags: RunFlags) => {
    const { runRunCommand } = await import('./run-command.ts');
    process.exitCode = await runRunCommand(flags);
  });

for (const step of ['probe', 'shard', 'assemble', 'cleanup'] as const) {
  program
    .command(step)
    .description(`run the ${step} step of a job (as a cluster pod does) from a JSON task`)
    .option('--task <json>', 'the task as JSON')
    .option('--task-file <path>', 'the task as a JSON file')
    .option('--job-id <id>', 'job id (overrides the task)')
    .option('-i, --input <path|uri>', 'source video (overrides the task)')
    .option('-o, --output <path|uri>', 'final output (overrides the task)')
    .option('--shard <n>', 'shard index (shard step; default: JOB_COMPLETION_INDEX)', integer(0))
    .option('--result-file <path>', 'also write the JSON result here (e.g. /dev/termination-log)')
    .option('--log-level <level>', 'pino log level', process.env['UPSCALE_LOG_LEVEL'] ?? 'info')
    .action(async (flags: StepFlags) => {
      const { runStepCommand } = await import('./step-command.ts');
      process.exitCode = await runStepCommand(step, flags);
    });
}

program
  .command('operator')
  .description('run the UpscaleJob operator against a Kubernetes cluster')
  .option('--kubeconfig <file>', 'kubeconfig to use (default: in-cluster ServiceAccount, else KUBECONFIG or ~/.kube/config)')
  .option('-n, --namespace <ns>', 'watch only this namespace')
  .option('-A, --all-namespaces', 'watch every namespace (the default)')
  .option('--worker-image <image>', 'image of the worker pods (default: $UPSCALE_WORKER_IMAGE, else the release image)')
  .option('--s3-endpoint <url>', 'default S3 endpoint for jobs that name none')
  .option('--s3-region <region>', 'default S3 region')
  .option('--s3-force-path-style', 'default to path-style S3 addressing')
  .option('--s3-secret <name>', 'default storage Secret (in each job\'s namespace) for jobs that name none')
  .option('--workers <n>', 'concurrent reconciles', integer(1, 64))
  .option('--status-interval-ms <ms>', 'minimum interval between progress-only status writes of a job', integer(100))
  .option('--cleanup-timeout-seconds <s>', 'how long a deleted job\'s cleanup may take before its finalizer is removed anyway', integer(1))
  .option('--shard-node-loss-toleration-seconds <s>', 'how long a shard pod stays on a NotReady/unreachable node before it is evicted and rerun elsewhere (default 30; Kubernetes\' own is 300)', integer(0, 86_400))
  .option('--no-leader-elect', 'reconcile without a leader-election Lease (only one replica may run)')
  .option('--leader-election-namespace <ns>', 'namespace of the Lease (default: the operator\'s own, else --namespace, else default)')
  .option('--leader-election-id <name>', 'name of the Lease', 'upscale-operator')
  .option('--lease-duration <s>', 'leader lease duration, seconds', integer(1), 15)
  .option('--renew-deadline <s>', 'a leader that cannot renew within this many seconds stops', seconds, 10)
  .option('--retry-period <s>', 'seconds between lease attempts', seconds, 2)
  .option('--http-port <port>', 'port of /healthz, /readyz and /metrics (0: any free port)', integer(0, 65535), 8080)
  .option('--log-level <level>', 'pino log level', process.env['UPSCALE_LOG_LEVEL'] ?? 'info')
  .action(async (flags: OperatorFlags) => {
    // Before the Kubernetes client's ~870 modules are loaded: they are the first growth of the heap.
    applyOperatorV8Flags();
    const { runOperatorCommand } = await import('./operator-command.ts');
    process.exitCode = await runOperatorCommand(flags);
  });

await program.parseAsync(process.argv);
// Exit now rather than when the event loop drains: while Node tears its handles down, a Ctrl-C gets
// the default action (death by SIGINT, skipping the TMPDIR cleanup). The engines are closed by now,
// and stdout/stderr (pipes, files, terminals) are written synchronously on Linux.
process.exit();
