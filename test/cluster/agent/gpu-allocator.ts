/**
 * Device allocation of one node, as a device plugin and the kubelet's device manager do it:
 * each container that limits the GPU resource gets its own device indices, and a device stays
 * with its pod until the pod's containers have all stopped, so two running pods never share one.
 */

/** What one container of a pod asks for. */
export interface DeviceRequest {
  container: string;
  count: number;
}

/** Device indices by container name. */
export type Allocation = Map<string, number[]>;

/** Allocates the devices `0..size-1` of one node to pods. */
export class GpuAllocator {
  readonly size: number;
  private readonly owner = new Map<number, string>();
  private readonly byPod = new Map<string, Allocation>();

  constructor(size: number) {
    this.size = size;
  }

  /**
   * Allocates devices for all containers of a pod at once (all or nothing). Returns the existing
   * allocation when the pod already has one, or undefined when not enough devices are free.
   */
  allocate(podUid: string, requests: readonly DeviceRequest[]): Allocation | undefined {
    const existing = this.byPod.get(podUid);
    if (existing) return existing;
    const free = [...Array(this.size).keys()].filter((i) => !this.owner.has(i));
    const needed = requests.reduce((n, r) => n + r.count, 0);
    if (needed > free.length) return undefined;
    const allocation: Allocation = new Map();
    let next = 0;
    for (const req of requests) {
      const devices = free.slice(next, next + req.count);
      next += req.count;
      for (const d of devices) this.owner.set(d, podUid);
      allocation.set(req.container, devices);
    }
    this.byPod.set(podUid, allocation);
    return allocation;
  }

  /** Frees a pod's devices (idempotent). */
  release(podUid: string): void {
    for (const [device, owner] of this.owner) if (owner === podUid) this.owner.delete(device);
    this.byPod.delete(podUid);
  }

  /** Number of devices not held by any pod. */
  get free(): number {
    return this.size - this.owner.size;
  }
}
