/**
 * `npm run s3:stop`: stops the S3 test server that `npm run s3:start` (or a test) started, identified
 * by its pid file and process start time, and removes `.cluster/s3.env`. Data stays in `.cluster/s3/`.
 */
import { stopS3Server } from './server.ts';

try {
  const stopped = await stopS3Server();
  process.stdout.write(stopped ? 'Stopped S3 server\n' : 'No S3 server was running\n');
} catch (error) {
  process.stderr.write(`Failed to stop the S3 test server: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
