/**
 * The job-id rule, one place for the task schema (task.ts) and the intermediates' layout
 * (storage/job-layout.ts). Job ids become path segments and S3 keys: keep them to
 * Kubernetes-name-like characters so an id can never climb out of the prefix (`..`) or need escaping.
 */

const JOB_ID = /^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$/i;

/** What a valid job id looks like, for error messages. */
export const JOB_ID_RULE = "1-64 letters, digits, '.', '_' or '-', starting and ending alphanumeric, no '..'";

/** True when `id` may name a job's intermediates. */
export function isValidJobId(id: string): boolean {
  return JOB_ID.test(id) && !id.includes('..');
}
