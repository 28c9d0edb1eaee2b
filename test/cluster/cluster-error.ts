/**
 * The one error class of the test cluster (control plane launcher and node agent). Every message
 * names the object (a binary, a pod, a node, a file), the step that failed and the cause; `code`
 * is stable so callers and tests can branch on it.
 */

/** Stable error codes raised by `test/cluster/`. */
export const CLUSTER_ERROR_CODES = [
  /** `build.sh` failed to build the control-plane binaries. */
  'BuildFailed',
  /** openssl failed while generating certificates or keys. */
  'PkiFailed',
  /** A control-plane process exited or did not become healthy in time. */
  'ComponentFailed',
  /** Waiting for a cluster condition (nodes Ready, default ServiceAccount) timed out. */
  'WaitTimedOut',
  /** The node agent's configuration (environment) is invalid. */
  'AgentConfigInvalid',
  /** A container's image has no entry in the image table. */
  'ImageUnknown',
  /** A volume, env var or secret/config map reference of a pod cannot be resolved. */
  'PodSpecUnresolvable',
  /** A call to the Kubernetes API failed. */
  'ApiFailed',
] as const;

export type ClusterErrorCode = (typeof CLUSTER_ERROR_CODES)[number];

/** Error raised by the test cluster; `cause` keeps the underlying error when there is one. */
export class ClusterError extends Error {
  override readonly name = 'ClusterError';
  readonly code: ClusterErrorCode;

  constructor(code: ClusterErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The message of an unknown thrown value, for wrapping into a ClusterError message. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const body = (err as { body?: unknown }).body;
    if (typeof body === 'string' && body.length > 0) return `${err.message}: ${body}`;
    return err.message;
  }
  return String(err);
}
