import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { outputGeometry, ratio } from './output-size.ts';
import { extractRect, pasteTile, placeTile } from './stitch.ts';
import { planTiles } from './tile-plan.ts';

describe('outputGeometry', () => {
  it('keeps the model scale by default and needs no resize', () => {
    assert.deepEqual(outputGeometry(150, 98, 4), { width: 600, height: 392, rx: { num: 4, den: 1 }, ry: { num: 4, den: 1 }, resize: false });
  });
  it('gives outscale 2 of an x4 model as an integer ratio with a resize', () => {
    assert.deepEqual(outputGeometry(150, 98, 4, { scale: 2 }), { width: 300, height: 196, rx: { num: 2, den: 1 }, ry: { num: 2, den: 1 }, resize: true });
  });
  it('reduces a target size to exact per-axis fractions', () => {
    const g = outputGeometry(150, 98, 4, { width: 225, height: 147 });
    assert.deepEqual([g.rx, g.ry], [ratio(3, 2), ratio(3, 2)]);
    assert.deepEqual(outputGeometry(1280, 720, 4, { width: 1920, height: 1080 }).rx, { num: 3, den: 2 });
  });
  it('rejects a fractional scale', () => {
    assert.throws(() => outputGeometry(10, 10, 4, { scale: 2.5 }), /output scale 2.5 is not a positive integer/);
  });
});

describe('extractRect, placeTile and pasteTile', () => {
  it('reassemble a frame exactly from its tiles at scale 1 (identity model)', () => {
    const width = 37;
    const height = 23;
    const frame = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 7) % 251);
    const plan = planTiles({ width, height, tileSize: 10, tilePad: 3 });
    const out = new Uint8Array(frame.length);
    const one = { num: 1, den: 1 };
    for (const tile of plan.tiles) {
      const window = new Uint8Array(plan.windowWidth * plan.windowHeight * 3);
      extractRect(frame, width, tile.window, window, 0);
      pasteTile(window, 0, placeTile(tile, one, one), out, width);
    }
    assert.deepEqual(out, frame);
  });
  it('places a core at ratio 3/2 on whole output pixels', () => {
    const plan = planTiles({ width: 150, height: 98, tileSize: 40, tilePad: 8, alignX: 2, alignY: 2 });
    const tile = plan.tiles[1];
    assert.ok(tile !== undefined);
    const p = placeTile(tile, ratio(3, 2), ratio(3, 2));
    for (const v of [p.windowWidth, p.windowHeight, p.source.x, p.source.y, p.target.x, p.target.y, p.target.width]) assert.ok(Number.isInteger(v), `${v}`);
    assert.equal(p.target.x, (tile.core.x * 3) / 2);
  });
});
