import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { interiorEdgeDistance, planTiles } from './tile-plan.ts';
import type { TilePlan } from './tile-plan.ts';

/** Checks the invariants every plan must keep, for any request. */
function assertPlanInvariants(plan: TilePlan, pad: number, alignX = 1, alignY = 1): void {
  const covered = new Uint8Array(plan.width * plan.height);
  for (const { core, window } of plan.tiles) {
    assert.equal(window.width, plan.windowWidth);
    assert.equal(window.height, plan.windowHeight);
    assert.ok(window.x >= 0 && window.y >= 0 && window.x + window.width <= plan.width && window.y + window.height <= plan.height, 'window inside frame');
    assert.ok(core.x >= window.x && core.x + core.width <= window.x + window.width, 'core inside window (x)');
    assert.ok(core.y >= window.y && core.y + core.height <= window.y + window.height, 'core inside window (y)');
    // At least `pad` context on every side that is not the frame edge.
    if (window.x > 0) assert.ok(core.x - window.x >= pad, `left context ${core.x - window.x} < ${pad}`);
    if (window.x + window.width < plan.width) assert.ok(window.x + window.width - (core.x + core.width) >= pad, 'right context');
    if (window.y > 0) assert.ok(core.y - window.y >= pad, 'top context');
    if (window.y + window.height < plan.height) assert.ok(window.y + window.height - (core.y + core.height) >= pad, 'bottom context');
    assert.equal(core.x % alignX, 0);
    assert.equal(core.y % alignY, 0);
    assert.equal(window.x % alignX, 0);
    assert.equal(window.y % alignY, 0);
    for (let y = core.y; y < core.y + core.height; y++) for (let x = core.x; x < core.x + core.width; x++) covered[y * plan.width + x] = (covered[y * plan.width + x] ?? 0) + 1;
  }
  assert.ok(covered.every((c) => c === 1), 'every pixel is in exactly one core');
}

describe('planTiles', () => {
  it('gives one window covering the frame when the tile size is 0', () => {
    const plan = planTiles({ width: 150, height: 98, tileSize: 0, tilePad: 10 });
    assert.deepEqual(plan.tiles, [{ core: { x: 0, y: 0, width: 150, height: 98 }, window: { x: 0, y: 0, width: 150, height: 98 } }]);
  });

  it('gives one window when the frame is not larger than the tile', () => {
    assert.equal(planTiles({ width: 64, height: 64, tileSize: 64, tilePad: 10 }).tiles.length, 1);
  });

  it('cuts an odd-sized frame into balanced cores with equal windows slid inside the frame', () => {
    const plan = planTiles({ width: 150, height: 98, tileSize: 48, tilePad: 10 });
    // ceil(150/48) = 4 columns of 38 (the last 36); ceil(98/48) = 3 rows of 33 (the last 32).
    assert.equal(plan.tiles.length, 12);
    assert.equal(plan.windowWidth, 58);
    assert.equal(plan.windowHeight, 53);
    assert.deepEqual(plan.tiles[0], { core: { x: 0, y: 0, width: 38, height: 33 }, window: { x: 0, y: 0, width: 58, height: 53 } });
    // The last column's window is slid back so that it ends at the frame edge.
    assert.deepEqual(plan.tiles[3], { core: { x: 114, y: 0, width: 36, height: 33 }, window: { x: 92, y: 0, width: 58, height: 53 } });
    assertPlanInvariants(plan, 10);
  });

  it('keeps its invariants over many sizes, tiles and pads', () => {
    for (const [width, height] of [[1, 1], [7, 300], [150, 98], [160, 120], [641, 359]] as const) {
      for (const tileSize of [0, width < 10 ? 1 : 16, 33, 64, 500]) {
        for (const pad of [0, 3, 10, 40]) assertPlanInvariants(planTiles({ width, height, tileSize, tilePad: pad }), pad);
      }
    }
  });

  it('aligns cores and windows to the output ratio denominators', () => {
    const plan = planTiles({ width: 150, height: 98, tileSize: 40, tilePad: 7, alignX: 3, alignY: 2 });
    assertPlanInvariants(plan, 7, 3, 2);
    assert.equal(plan.windowWidth % 3, 0);
    assert.equal(plan.windowHeight % 2, 0);
  });

  it('rejects a frame size that is not a multiple of the alignment', () => {
    assert.throws(() => planTiles({ width: 100, height: 98, tileSize: 40, tilePad: 7, alignX: 3 }), /not a multiple of the alignment 3x1/);
  });
});

describe('interiorEdgeDistance', () => {
  it('is infinite for an untiled frame and measures the distance to a cut window edge otherwise', () => {
    assert.equal(interiorEdgeDistance(planTiles({ width: 50, height: 40, tileSize: 0, tilePad: 4 }), 25, 20), Infinity);
    const plan = planTiles({ width: 100, height: 10, tileSize: 50, tilePad: 4 });
    // First core [0,50), window [0,58): pixel 49 is 8 from the window's right edge at 57.
    assert.equal(interiorEdgeDistance(plan, 49, 5), 8);
    // Second core [50,100), window [42,100): pixel 50 is 8 from its left edge at 42.
    assert.equal(interiorEdgeDistance(plan, 50, 5), 8);
    assert.equal(interiorEdgeDistance(plan, 99, 5), 57);
  });
});
