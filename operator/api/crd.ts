/**
 * The UpscaleJob CustomResourceDefinition, generated from the zod schemas in upscalejob.ts (the one
 * source of truth) by `npm run crds` into crds/. zod's JSON Schema is made *structural* here, as the
 * API server requires for defaulting, pruning and CEL: every node has a `type` (or an
 * int-or-string / preserve-unknown-fields marker), and no `$ref`, `const`, `oneOf` or free `anyOf`.
 * Checks zod expresses as refinements (which JSON Schema cannot carry) are added back as CEL rules
 * that share their pattern and message with upscalejob.ts.
 */
import { z } from 'zod';
import { stringify } from 'yaml';
import { MODEL_IDS } from '../../models/catalogue.ts';
import { TILE_MAX } from '../../worker/task.ts';
import { CHECKS, GROUP, KIND, MESSAGES, PLURAL, SHORT_NAMES, SINGULAR, VERSION, upscaleJobSpecSchema, upscaleJobStatusSchema } from './upscalejob.ts';
import { encodeCelRules } from './encode-checks.ts';

/** A JSON Schema node as it goes into the CRD. */
type Schema = Record<string, unknown>;

/** One entry of `x-kubernetes-validations`. */
export interface CelRule {
  rule: string;
  message: string;
  /** Path of the offending field relative to the node, e.g. `.output`; the error names it. */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

export const CRD_NAME = `${PLURAL}.${GROUP}`;

/** A CEL string literal (JSON's escapes are a subset of CEL's). */
const celString = (s: string): string => JSON.stringify(s);

/** A transition rule: evaluated on updates only, when the field exists before and after. */
const immutable = (field: string): CelRule => ({ rule: 'self == oldSelf', message: `${field} is immutable` });

const matchesRule = (check: { pattern: string; message: string }): CelRule => ({ rule: `self.matches(${celString(check.pattern)})`, message: check.message });
const safeS3KeyRule = (field: string): CelRule => ({ rule: `!self.matches(${celString(CHECKS.s3DotSegments.pattern)})`, message: `${field}: ${CHECKS.s3DotSegments.message}` });

/** int-or-string values are `dyn` in CEL, so each branch checks its own form. */
const quantityRule = (field: string): CelRule => ({
  rule: `type(self) == int ? self >= 0 : self.matches(${celString(CHECKS.quantity.pattern)})`,
  message: `${field} ${CHECKS.quantity.message}`,
});

/**
 * CEL rules by schema path (`.` between properties, `[]` for array items). Every string a rule reads
 * has a maxLength and every array a maxItems: the API server estimates each rule's worst-case cost
 * from those bounds and rejects a CRD over its budget.
 */
export const VALIDATION_RULES: Readonly<Record<string, readonly CelRule[]>> = {
  spec: [
    { rule: 'self.output != self.input', message: MESSAGES.outputIsInput, fieldPath: '.output', reason: 'FieldValueInvalid' },
    { rule: '!has(self.scale) || !(has(self.width) || has(self.height))', message: MESSAGES.scaleOrSize, fieldPath: '.scale', reason: 'FieldValueForbidden' },
    // The field's own rule sees changes only; adding or removing a segment changes the frames too.
    { rule: 'has(self.segment) == has(oldSelf.segment)', message: 'segment is immutable', fieldPath: '.segment', reason: 'FieldValueForbidden' },
    ...encodeCelRules(CHECKS.output.pattern),
  ],
  'spec.input': [matchesRule(CHECKS.input), safeS3KeyRule('input'), immutable('input')],
  'spec.output': [matchesRule(CHECKS.output), safeS3KeyRule('output'), immutable('output')],
  'spec.model': [
    { rule: `self in ${JSON.stringify(MODEL_IDS)} || self.matches(${celString(CHECKS.modelUri.pattern)})`, message: CHECKS.modelUri.message },
    immutable('model'),
  ],
  'spec.scale': [immutable('scale')],
  'spec.width': [immutable('width')],
  'spec.height': [immutable('height')],
  'spec.deinterlace': [immutable('deinterlace')],
  'spec.encode': [immutable('encode')],
  'spec.segment': [
    { rule: '!(has(self.duration) && has(self.frames))', message: MESSAGES.segmentLength, fieldPath: '.frames', reason: 'FieldValueForbidden' },
    { rule: '!(has(self.start) && has(self.firstFrame))', message: MESSAGES.segmentStart, fieldPath: '.firstFrame', reason: 'FieldValueForbidden' },
    immutable('segment'),
  ],
  'spec.segment.duration': [{ rule: 'self > 0.0', message: MESSAGES.segmentDuration }],
  'spec.inference.tile': [{ rule: `type(self) == int ? self >= 0 && self <= ${TILE_MAX} : self == 'auto'`, message: MESSAGES.tile }],
  'spec.sharding': [
    { rule: '!(has(self.framesPerShard) && has(self.shards))', message: MESSAGES.shardingExclusive, fieldPath: '.shards', reason: 'FieldValueForbidden' },
  ],
  'spec.resources.gpuResourceName': [matchesRule(CHECKS.gpuResourceName)],
  'spec.resources.cpu': [quantityRule('cpu')],
  'spec.resources.memory': [quantityRule('memory')],
  'spec.podTemplate.spec.tolerations[]': [
    { rule: "!has(self.operator) || self.operator != 'Exists' || !has(self.value) || self.value == ''", message: MESSAGES.tolerationExistsValue, fieldPath: '.value' },
    { rule: "(has(self.key) && self.key != '') || (has(self.operator) && self.operator == 'Exists')", message: MESSAGES.tolerationEmptyKey, fieldPath: '.operator' },
    { rule: "!has(self.tolerationSeconds) || (has(self.effect) && self.effect == 'NoExecute')", message: MESSAGES.tolerationSeconds, fieldPath: '.tolerationSeconds' },
  ],
};

/** Other Kubernetes extensions by schema path. */
const EXTENSIONS: Readonly<Record<string, Schema>> = {
  // Conditions merge by type under server-side apply, as metav1.Condition lists do.
  'status.conditions': { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] },
};

const DESCRIPTION =
  'An UpscaleJob upscales one video with Real-ESRGAN: the operator probes the input, cuts it into frame-range shards run as the pods of one Indexed Job, and assembles the shards into the output.';

type Override = NonNullable<z.core.JSONSchemaGeneratorParams['override']>;

/** zod-type driven rewrites; `override` sees each zod schema with its JSON Schema built so far. */
const override: Override = ({ zodSchema, jsonSchema, path }) => {
  const def = zodSchema._zod.def;
  const json = jsonSchema as Schema;
  if (def.type === 'union') {
    const types = ((json['anyOf'] ?? []) as Schema[]).map((branch) => branch['type']);
    if (types.length !== 2 || !types.includes('integer') || !types.includes('string')) {
      throw new Error(`building the CRD: the union at ${path.join('.')} is not integer-or-string, which a structural schema cannot express`);
    }
    // The only anyOf a structural schema allows; the branches' own bounds are CEL rules instead.
    json['anyOf'] = [{ type: 'integer' }, { type: 'string' }];
    json['x-kubernetes-int-or-string'] = true;
  } else if (def.type === 'literal') {
    // zod says `number` for numeric literals; Kubernetes distinguishes integer.
    if (Array.isArray(json['enum']) && json['enum'].every((v) => Number.isInteger(v))) json['type'] = 'integer';
  } else if (def.type === 'record' && ['unknown', 'any'].includes(def.valueType._zod.def.type)) {
    // Free-form objects (affinity) are kept as they are instead of pruned.
    delete json['additionalProperties'];
    json['x-kubernetes-preserve-unknown-fields'] = true;
  }
};

const FORBIDDEN = ['$schema', '$ref', '$defs', 'definitions', 'const', 'oneOf', 'allOf', 'not', 'uniqueItems', 'nullable', 'title'];
const KEY_ORDER = ['description', 'type'];

/** Cleans one node and its children in place; throws on what a structural schema forbids. */
function tidy(node: Schema, at: string): Schema {
  for (const key of FORBIDDEN) {
    if (key in node) throw new Error(`building the CRD: ${at} has "${key}", which a structural schema forbids`);
  }
  if (node['anyOf'] !== undefined && node['x-kubernetes-int-or-string'] !== true) throw new Error(`building the CRD: ${at} has anyOf`);
  if (node['additionalProperties'] === false) delete node['additionalProperties'];
  // z.int()'s implicit safe-integer bounds say nothing to a user.
  if (node['minimum'] === Number.MIN_SAFE_INTEGER) delete node['minimum'];
  if (node['maximum'] === Number.MAX_SAFE_INTEGER) delete node['maximum'];
  // CEL cost estimates ignore enum, so a string enum gets the maxLength it implies.
  if (node['type'] === 'string' && Array.isArray(node['enum']) && node['maxLength'] === undefined) {
    node['maxLength'] = Math.max(...(node['enum'] as string[]).map((v) => v.length));
  }
  const props = node['properties'] as Record<string, Schema> | undefined;
  for (const [name, child] of Object.entries(props ?? {})) tidy(child, `${at}.${name}`);
  if (node['items'] !== undefined) tidy(node['items'] as Schema, `${at}[]`);
  if (typeof node['additionalProperties'] === 'object') tidy(node['additionalProperties'] as Schema, `${at}{}`);
  const sorted: Schema = {};
  for (const key of [...KEY_ORDER, ...Object.keys(node)]) if (key in node) sorted[key] = node[key];
  for (const key of Object.keys(node)) delete node[key];
  return Object.assign(node, sorted);
}

/** The node at `path` (see VALIDATION_RULES); throws when a field was renamed away from a rule. */
function nodeAt(root: Schema, path: string): Schema {
  let node = root;
  for (const segment of path.split('.')) {
    const name = segment.replace(/\[\]$/, '');
    const props = node['properties'] as Record<string, Schema> | undefined;
    const next = props?.[name];
    if (next === undefined) throw new Error(`building the CRD: no field ${path} for its rules or extensions`);
    node = next;
    if (segment.endsWith('[]')) {
      if (node['items'] === undefined) throw new Error(`building the CRD: ${path} is not an array`);
      node = node['items'] as Schema;
    }
  }
  return node;
}

function jsonSchemaOf(schema: z.ZodType, at: string): Schema {
  const json = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', reused: 'inline', cycles: 'throw', override }) as Schema;
  delete json['$schema'];
  return tidy(json, at);
}

/** The openAPIV3Schema of the UpscaleJob version: apiVersion, kind, metadata, spec and status. */
export function buildSchema(): Schema {
  const root: Schema = {
    description: DESCRIPTION,
    type: 'object',
    required: ['spec'],
    properties: {
      apiVersion: {
        description: 'APIVersion defines the versioned schema of this representation of an object (upscale.dev/v1alpha1).',
        type: 'string',
      },
      kind: { description: 'Kind is the REST resource this object represents (UpscaleJob).', type: 'string' },
      // The API server owns metadata's schema; a structural schema may say no more than its type.
      metadata: { type: 'object' },
      spec: jsonSchemaOf(upscaleJobSpecSchema, 'spec'),
      status: jsonSchemaOf(upscaleJobStatusSchema, 'status'),
    },
  };
  for (const [path, rules] of Object.entries(VALIDATION_RULES)) nodeAt(root, path)['x-kubernetes-validations'] = rules.map((r) => ({ ...r }));
  for (const [path, extensions] of Object.entries(EXTENSIONS)) Object.assign(nodeAt(root, path), extensions);
  return root;
}

/** The apiextensions.k8s.io/v1 CustomResourceDefinition `upscalejobs.upscale.dev`. */
export function buildCrd(): Schema {
  const schema = buildSchema();
  const statusColumn = (name: string, field: string): Schema => ({
    name,
    type: 'string',
    jsonPath: `.status.${field}`,
    description: nodeAt(schema, `status.${field}`)['description'],
  });
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: CRD_NAME, labels: { 'app.kubernetes.io/name': 'upscale-operator', 'app.kubernetes.io/part-of': 'upscale-operator' } },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: { kind: KIND, listKind: `${KIND}List`, plural: PLURAL, singular: SINGULAR, shortNames: [...SHORT_NAMES], categories: ['upscale'] },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            statusColumn('Phase', 'phase'),
            statusColumn('Progress', 'progress'),
            statusColumn('FPS', 'fps'),
            statusColumn('ETA', 'eta'),
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: { openAPIV3Schema: schema },
        },
      ],
    },
  };
}

/** The CRD as the YAML file in crds/, with its do-not-edit header. */
export function crdYaml(): string {
  const header = '# generated by npm run crds; do not edit\n# source: operator/api/upscalejob.ts (schemas), operator/api/crd.ts (structural rewrite, CEL rules)\n';
  return header + stringify(buildCrd(), { lineWidth: 0 });
}
