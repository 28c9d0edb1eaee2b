/**
 * `npm run s3:start`: starts the S3 test server (versitygw, built on first use) in the background on
 * a free loopback port, or reuses the running one, and writes its settings to `.cluster/s3.env`.
 */
import { relative } from 'node:path';
import { s3Paths, startS3Server } from './server.ts';

const began = Date.now();
try {
  const info = await startS3Server();
  const p = s3Paths();
  const rel = (file: string) => relative(process.cwd(), file) || '.';
  const seconds = ((Date.now() - began) / 1000).toFixed(1);
  process.stdout.write(
    [
      `S3 server (versitygw ${info.version}) ${info.started ? 'started' : 'already running'} in ${seconds}s at ${info.endpoint}`,
      `  settings (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL): ${rel(p.envFile)}`,
      `  use it: set -a; . ${rel(p.envFile)}; set +a   or   node --env-file=${rel(p.envFile)} ...`,
      `  data: ${rel(p.data)}/ (one folder per bucket), log: ${rel(p.log)}`,
      'Stop with: npm run s3:stop',
      '',
    ].join('\n'),
  );
} catch (error) {
  process.stderr.write(`Failed to start the S3 test server: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
