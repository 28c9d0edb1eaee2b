/**
 * Pure GPU inventory: parses `nvidia-smi --query-gpu` CSV and applies the device-visibility
 * variables, giving the devices a CUDA/TensorRT session may use with the ordinals ONNX Runtime's
 * `deviceId` expects. nvidia-smi lists every GPU of the host regardless of CUDA_VISIBLE_DEVICES,
 * while CUDA renumbers the visible ones from 0 in the order the variable lists them; inside a
 * container the runtime has already hidden the others (NVIDIA_VISIBLE_DEVICES).
 */

/** The fields asked of nvidia-smi, in order. */
export const NVIDIA_SMI_FIELDS = ['index', 'uuid', 'name', 'memory.total', 'memory.free', 'pci.bus_id'] as const;

/** One GPU as nvidia-smi reports it. */
export interface SmiGpu {
  readonly index: number;
  readonly uuid: string;
  readonly name: string;
  readonly memoryTotalMiB: number;
  readonly memoryFreeMiB: number;
  readonly pciBusId: string;
}

/** A GPU the engine may open a session on. */
export interface VisibleGpu extends SmiGpu {
  /** The CUDA ordinal inside this process (ONNX Runtime's `deviceId`). */
  readonly ordinal: number;
}

/**
 * Parses `--format=csv,noheader,nounits` output of the fields in NVIDIA_SMI_FIELDS.
 * @throws Error naming the line when a line has the wrong number of fields or bad numbers
 */
export function parseNvidiaSmi(csv: string): SmiGpu[] {
  const gpus: SmiGpu[] = [];
  for (const line of csv.split('\n').map((l) => l.trim()).filter((l) => l !== '')) {
    const fields = line.split(',').map((f) => f.trim());
    if (fields.length !== NVIDIA_SMI_FIELDS.length) throw new Error(`nvidia-smi line "${line}" has ${fields.length} fields, expected ${NVIDIA_SMI_FIELDS.length}`);
    const [index, uuid, name, total, free, bus] = fields as [string, string, string, string, string, string];
    const numbers = [Number(index), Number(total), Number(free)];
    // nvidia-smi prints "[N/A]" for fields a device (e.g. a MIG slice) does not report.
    if (!Number.isInteger(numbers[0])) throw new Error(`nvidia-smi line "${line}" has no integer GPU index`);
    gpus.push({
      index: numbers[0] ?? 0,
      uuid,
      name,
      memoryTotalMiB: Number.isFinite(numbers[1]) ? (numbers[1] ?? 0) : 0,
      memoryFreeMiB: Number.isFinite(numbers[2]) ? (numbers[2] ?? 0) : 0,
      pciBusId: bus,
    });
  }
  return gpus;
}

/** Parses a visibility list ("0,2", "GPU-8f..", "all", "none", "void", ""); undefined means all. */
function parseVisibility(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === 'all') return undefined;
  if (trimmed === '' || trimmed === 'none' || trimmed === 'void' || trimmed === 'NoDevFiles') return [];
  return trimmed.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function matches(gpu: SmiGpu, id: string): boolean {
  if (/^\d+$/.test(id)) return gpu.index === Number(id);
  // CUDA accepts unique UUID prefixes, with or without the "GPU-" prefix.
  const uuid = gpu.uuid.toLowerCase();
  const wanted = id.toLowerCase();
  return uuid.startsWith(wanted) || uuid.startsWith(`gpu-${wanted}`);
}

function select(gpus: readonly SmiGpu[], ids: readonly string[] | undefined): SmiGpu[] {
  if (ids === undefined) return [...gpus];
  const chosen: SmiGpu[] = [];
  for (const id of ids) {
    const gpu = gpus.find((g) => matches(g, id));
    // CUDA stops at the first invalid entry of CUDA_VISIBLE_DEVICES; so do we.
    if (gpu === undefined) break;
    if (!chosen.includes(gpu)) chosen.push(gpu);
  }
  return chosen;
}

/**
 * NVIDIA_VISIBLE_DEVICES is applied by the container runtime, which also renumbers the GPUs that
 * nvidia-smi shows inside the container; CUDA itself ignores it. So: "none" hides every GPU, UUIDs
 * select by UUID, and indices select only when nvidia-smi still shows more GPUs than listed (a host
 * view), otherwise the runtime has applied them already.
 */
function selectByContainerVariable(gpus: readonly SmiGpu[], ids: readonly string[] | undefined): SmiGpu[] {
  if (ids === undefined) return [...gpus];
  if (ids.length === 0) return [];
  const allIndices = ids.every((id) => /^\d+$/.test(id));
  if (allIndices && gpus.length <= ids.length) return [...gpus];
  return select(gpus, ids);
}

/**
 * The GPUs visible to CUDA in this process, numbered as CUDA numbers them.
 * `env` is the process environment (only the two visibility variables are read).
 */
export function visibleGpus(gpus: readonly SmiGpu[], env: Readonly<Record<string, string | undefined>>): VisibleGpu[] {
  const byContainer = selectByContainerVariable(gpus, parseVisibility(env.NVIDIA_VISIBLE_DEVICES));
  const byCuda = select(byContainer, parseVisibility(env.CUDA_VISIBLE_DEVICES));
  return byCuda.map((gpu, ordinal) => ({ ...gpu, ordinal }));
}
