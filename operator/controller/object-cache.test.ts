import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ObjectCache, type Cacheable } from './object-cache.ts';

const obj = (ns: string | undefined, name: string, rv: string): Cacheable => ({ metadata: { namespace: ns, name, resourceVersion: rv } });
const tag = (o: Cacheable): string => `${o.metadata?.name}@${o.metadata?.resourceVersion}`;

function cache(): { c: ObjectCache<Cacheable>; changes: string[] } {
  const changes: string[] = [];
  return { c: new ObjectCache<Cacheable>((o) => changes.push(tag(o))), changes };
}

test('a new object and a new version are changes; the same version again is not', () => {
  const { c, changes } = cache();
  c.store(obj('ns', 'a', '1'));
  c.store(obj('ns', 'a', '1'));
  c.store(obj('ns', 'a', '2'));
  assert.deepEqual(changes, ['a@1', 'a@2']);
  assert.equal(c.get('ns', 'a')?.metadata?.resourceVersion, '2');
});

test('an object without a resourceVersion is always taken as changed', () => {
  const { c, changes } = cache();
  c.store(obj('ns', 'a', ''));
  c.store(obj('ns', 'a', ''));
  assert.equal(changes.length, 2);
});

test('removing reports the object once; removing what is not held reports nothing', () => {
  const { c, changes } = cache();
  c.store(obj('ns', 'a', '1'));
  c.remove(obj('ns', 'a', '3'));
  c.remove(obj('ns', 'a', '3'));
  assert.deepEqual(changes, ['a@1', 'a@3']);
  assert.equal(c.get('ns', 'a'), undefined);
});

test('replace reports what is new, what changed and what vanished, and nothing else', () => {
  const { c, changes } = cache();
  c.replace([obj('ns', 'kept', '1'), obj('ns', 'changed', '1'), obj('ns', 'vanished', '1')]);
  changes.length = 0;
  c.replace([obj('ns', 'kept', '1'), obj('ns', 'changed', '2'), obj('ns', 'new', '5')]);
  assert.deepEqual(changes.sort(), ['changed@2', 'new@5', 'vanished@1']);
  assert.deepEqual(c.list().map(tag).sort(), ['changed@2', 'kept@1', 'new@5']);
});

test('list filters by namespace, and cluster-scoped objects are keyed by name', () => {
  const { c } = cache();
  c.replace([obj('a', 'x', '1'), obj('b', 'x', '1'), obj(undefined, 'node-1', '1')]);
  assert.deepEqual(c.list('a').map(tag), ['x@1']);
  assert.equal(c.list().length, 3);
  assert.equal(c.get(undefined, 'node-1')?.metadata?.name, 'node-1');
  assert.equal(c.get('a', 'x') !== c.get('b', 'x'), true);
});

test('the index follows stores, updates that change the indexed value, removes and relists', () => {
  type Labelled = Cacheable & { metadata: { labels?: Record<string, string> } };
  const pod = (name: string, rv: string, owner: string | undefined): Labelled => ({ metadata: { namespace: 'ns', name, resourceVersion: rv, ...(owner !== undefined ? { labels: { owner } } : {}) } });
  const c = new ObjectCache<Labelled>(() => undefined, (o) => o.metadata.labels?.['owner']);
  const names = (owner: string): string[] => c.byIndex(owner).map((o) => o.metadata.name ?? '').sort();
  c.store(pod('a', '1', 'x'));
  c.store(pod('b', '1', 'x'));
  c.store(pod('c', '1', 'y'));
  c.store(pod('d', '1', undefined));
  assert.deepEqual(names('x'), ['a', 'b']);
  assert.deepEqual(names('y'), ['c']);
  c.store(pod('b', '2', 'y'));
  assert.deepEqual(names('x'), ['a']);
  assert.deepEqual(names('y'), ['b', 'c']);
  assert.equal(c.byIndex('x')[0]?.metadata.resourceVersion, '1');
  c.remove(pod('a', '1', 'x'));
  assert.deepEqual(names('x'), []);
  c.replace([pod('c', '2', 'y'), pod('e', '1', 'x')]);
  assert.deepEqual(names('y'), ['c']);
  assert.deepEqual(names('x'), ['e']);
  assert.equal(c.list().length, 2);
});

test('a cache without an index finds nothing by index', () => {
  const { c } = cache();
  c.store(obj('ns', 'a', '1'));
  assert.deepEqual(c.byIndex('ns/a'), []);
});
