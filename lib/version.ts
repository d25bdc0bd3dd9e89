// This package's identity, read once from its package.json, for the banner,
// VERS and --version.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface PackageJson {
  name: string;
  version: string;
  homepage?: string;
}

/** The package root: compiled code runs from dist/lib/, sources from lib/. */
function findPackageJson(): PackageJson {
  for (const up of ['..', join('..', '..')]) {
    try {
      const parsed = JSON.parse(readFileSync(join(__dirname, up, 'package.json'), 'utf8')) as PackageJson;
      if (parsed.name === 'uvscpd') return parsed;
    } catch {
      // not here; try one level further up
    }
  }
  return { name: 'uvscpd', version: '0.0.0' };
}

const pkg = findPackageJson();

export const PACKAGE_NAME: string = pkg.name;
export const PACKAGE_VERSION: string = pkg.version;
/** Where users report problems: the banner's second line, as the original's bug address. */
export const PACKAGE_HOME = 'https://www.npmjs.com/package/uvscpd';

/** VERS reply in the original's `major,minor,release,build` form. */
export function versionReply(): string {
  const [major = '0', minor = '0', patch = '0'] = PACKAGE_VERSION.split(/[.+-]/);
  return `${Number(major) || 0},${Number(minor) || 0},${Number(patch) || 0},0`;
}
