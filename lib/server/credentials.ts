// Configured USER/PASS credentials and their constant-time comparison
// (design.md "Auth"). Kept apart from the command table: the table only asks
// "does this match", never sees what is stored.

import type * as NodeCrypto from 'node:crypto';

/**
 * Configured credentials, kept only as SHA-256 digests so that comparisons
 * take the same time whatever the input (design.md "Auth"). D10: compared
 * exactly, case included. Input arrives latin1-decoded from the wire and is
 * turned back into its bytes; the configured text is UTF-8, so a non-ASCII
 * password typed by a UTF-8 client matches.
 */
export class Credentials {
  private readonly userDigest: Buffer | null;
  private readonly passwordDigest: Buffer | null;

  constructor(user?: string, password?: string) {
    this.userDigest = user === undefined ? null : digest(Buffer.from(user, 'utf8'));
    this.passwordDigest = password === undefined ? null : digest(Buffer.from(password, 'utf8'));
  }

  get hasUser(): boolean {
    return this.userDigest !== null;
  }

  get hasPassword(): boolean {
    return this.passwordDigest !== null;
  }

  checkUser(wireText: string): boolean {
    return this.userDigest !== null && timingSafeEqual(this.userDigest, digest(Buffer.from(wireText, 'latin1')));
  }

  checkPassword(wireText: string): boolean {
    return this.passwordDigest !== null && timingSafeEqual(this.passwordDigest, digest(Buffer.from(wireText, 'latin1')));
  }
}

function digest(bytes: Buffer): Buffer {
  return nodeCrypto().createHash('sha256').update(bytes).digest();
}

function timingSafeEqual(a: Buffer, b: Buffer): boolean {
  return nodeCrypto().timingSafeEqual(a, b);
}

/** node:crypto costs ~10 ms of start-up in a slow guest: loaded when credentials are first used. */
let cryptoModule: typeof NodeCrypto | undefined;
function nodeCrypto(): typeof NodeCrypto {
  return (cryptoModule ??= require('node:crypto') as typeof NodeCrypto);
}
