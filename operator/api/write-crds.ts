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

/** The Helm chart's copy (Helm installs CRDs from the chart's own crds/ folder). */
export const CHART_CRD_FILE = fileURLToPath(new URL('../../charts/upscale-operator/crds/upscale.dev_upscalejobs.yaml', import.meta.url));

/** Writes the CRD files; returns their paths. */
export function writeCrds(): string[] {
  const text = crdYaml();
  for (const file of [CRD_FILE, CHART_CRD_FILE]) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  return [CRD_FILE, CHART_CRD_FILE];
}

if (import.meta.main) {
  console.log(`Wrote ${writeCrds().join(', ')}`);
}
