// The addon and the TypeScript code share record layouts and limits (native/layout.h,
// lib/can/record.ts, lib/can/types.ts). The built addon must export exactly the values
// the TypeScript side uses, and the loader must refuse an addon whose values differ.
// Runs anywhere (no AF_CAN needed: only loading the addon).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { EXPECTED_LAYOUT, addonInfo, checkAddonLayout, loadAddon } from '../../lib/can/native.js';

function refusesWith(layout: unknown, pattern: RegExp): void {
  assert.throws(
    () => checkAddonLayout(layout, '/some/uvscpd.node'),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_UVSCPD_ADDON_LAYOUT');
      assert.match(err.message, /\/some\/uvscpd\.node/);
      assert.match(err.message, pattern);
      assert.match(err.message, /npm run build:native/);
      return true;
    },
  );
}

describe('native addon layout', () => {
  it('the built addon exports the layout the TypeScript code expects, field for field', () => {
    const layout = loadAddon().layout;
    assert.deepEqual({ ...layout }, { ...EXPECTED_LAYOUT });
    checkAddonLayout(layout, addonInfo().path);
  });

  it('a layout differing in any one field is refused, naming that field', () => {
    const real = loadAddon().layout!;
    for (const name of Object.keys(EXPECTED_LAYOUT)) {
      const changed = { ...real, [name]: (real[name] as number) + 1 };
      refusesWith(changed, new RegExp(`its ${name} is ${(real[name] as number) + 1}, this code expects ${EXPECTED_LAYOUT[name]}`));
    }
  });

  it('a layout missing a field, or with an extra one, is refused', () => {
    const real = loadAddon().layout!;
    const { recordFlagOwn: _dropped, ...missing } = real;
    refusesWith(missing, /its recordFlagOwn is undefined/);
    refusesWith({ ...real, recordFlagRemote: 0x40 }, /it has recordFlagRemote, unknown to this code/);
  });

  it('an addon without a layout export (built before it existed) is refused', () => {
    refusesWith(undefined, /it exports no record layout/);
    refusesWith(null, /it exports no record layout/);
  });
});
