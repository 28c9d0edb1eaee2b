/**
 * A container's termination message as the kubelet reads it: the file at
 * `terminationMessagePath` (at most 4096 bytes), or with `FallbackToLogsOnError` and a failed
 * container whose file is empty, the end of its log (at most 80 lines and 2048 bytes).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const MAX_MESSAGE_BYTES = 4096;
const MAX_LOG_BYTES = 2048;
const MAX_LOG_LINES = 80;

function readHead(file: string, max: number): string {
  try {
    const fd = openSync(file, 'r');
    try {
      const buf = Buffer.alloc(max);
      const n = readSync(fd, buf, 0, max, 0);
      return buf.subarray(0, n).toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

/** The last `maxLines` lines of a file, at most `maxBytes` bytes. */
export function readTail(file: string, maxLines: number, maxBytes: number): string {
  try {
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      const start = Math.max(0, size - maxBytes);
      const buf = Buffer.alloc(size - start);
      readSync(fd, buf, 0, buf.length, start);
      const lines = buf.toString('utf8').split('\n');
      if (lines.at(-1) === '') lines.pop();
      return lines.slice(-maxLines).join('\n') + (lines.length > 0 ? '\n' : '');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

/** The termination message of a container run; undefined when there is none. */
export function terminationMessage(messageFile: string, logFile: string, policy: string | undefined, exitCode: number): string | undefined {
  const fromFile = readHead(messageFile, MAX_MESSAGE_BYTES);
  if (fromFile.length > 0) return fromFile;
  if (policy === 'FallbackToLogsOnError' && exitCode !== 0) {
    const fromLog = readTail(logFile, MAX_LOG_LINES, MAX_LOG_BYTES);
    return fromLog.length > 0 ? fromLog : undefined;
  }
  return undefined;
}
