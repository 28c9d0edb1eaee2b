/**
 * `npm run crds`: writes the UpscaleJob CRD generated from operator/api/upscalejob.ts into crds/.
 * crd.test.ts fails while the committed file differs from what this writes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crdYaml } from './crd.ts';

/** The generated CRD file, committed so `kubectl apply -f crds/` and the Helm chart need no Node.js. */
export const CRD_FILE = fileURLToPath(new URL('../../crds/upscale.dev_upscalejobs.yaml', import.meta.url));

/** Writes the CRD file; returns its path. */
export function writeCrds(): string {
  mkdirSync(dirname(CRD_FILE), { recursive: true });
  writeFileSync(CRD_FILE, crdYaml());
  return CRD_FILE;
}

if (import.meta.main) {
  console.log(`Wrote ${writeCrds()}`);
}
