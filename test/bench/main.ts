/**
 * `npm run bench`: every benchmark in one command, printing figures and, with `--json FILE`,
 * writing them as one JSON document. No timing asserts: a benchmark reports, tests decide.
 *
 *   npm run bench [-- --only probe,control-plane] [--json bench.json] [-- <section options>]
 *
 * Sections (in this order): `probe` (test/bench/probe-bench.ts), `control-plane`
 * (test/bench/control-plane.ts, needs the test cluster), `assemble` (test/bench/assemble-bench.ts),
 * `engine` (worker/engine/bench.ts), `run` (test/e2e/bench-run.ts), `scaling`
 * (test/bench/scaling-bench.ts; `--svg FILE` writes the plot) and `fixed-cost` (test/bench/fixed-cost.ts:
 * a 1-frame job's launch-to-exit time and stages, the whole process's frames/s next to the bare
 * engine). Options after a second `--` go to every selected section.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO } from '../fixtures/clips.ts';
import { assembleBench } from './assemble-bench.ts';
import { controlPlaneBench } from './control-plane.ts';
import { probeBench } from './probe-bench.ts';
import { scalingBench } from './scaling-bench.ts';

const SECTIONS = ['probe', 'control-plane', 'assemble', 'engine', 'run', 'scaling', 'fixed-cost'] as const;
type Section = (typeof SECTIONS)[number];

/** A benchmark script run as a child process: its output is shown, its last JSON line is its result. */
async function script(path: string, args: string[]): Promise<Record<string, unknown>> {
  const child = spawn(process.execPath, [join(REPO, path), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    process.stdout.write(d);
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`${path} exited with ${code}`);
  const last = out.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  if (last === undefined) throw new Error(`${path} printed no JSON result`);
  return JSON.parse(last) as Record<string, unknown>;
}

const all = process.argv.slice(2);
const split = all.indexOf('--');
const own = split >= 0 ? all.slice(0, split) : all;
const sectionArgs = split >= 0 ? all.slice(split + 1) : [];
const { values } = parseArgs({ args: own, options: { only: { type: 'string' }, json: { type: 'string' } } });
const only = values.only === undefined ? [...SECTIONS] : values.only.split(',');
const unknown = only.filter((s) => !(SECTIONS as readonly string[]).includes(s));
if (unknown.length > 0) throw new Error(`unknown bench section ${unknown.join(', ')}: one of ${SECTIONS.join(', ')}`);

const runners: Record<Section, () => Promise<Record<string, unknown>>> = {
  probe: () => probeBench(sectionArgs),
  'control-plane': () => controlPlaneBench(sectionArgs),
  assemble: () => assembleBench(sectionArgs),
  engine: () => script('worker/engine/bench.ts', sectionArgs),
  run: () => script('test/e2e/bench-run.ts', sectionArgs),
  scaling: () => scalingBench(sectionArgs),
  'fixed-cost': () => script('test/bench/fixed-cost.ts', sectionArgs),
};
const results: Record<string, unknown> = { machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version }, startedAt: new Date().toISOString() };
for (const section of SECTIONS) {
  if (!only.includes(section)) continue;
  console.log(`\n== ${section} ==`);
  results[section] = await runners[section]();
}
if (values.json !== undefined) await writeFile(values.json, `${JSON.stringify(results, null, 2)}\n`);
process.exit(0);
