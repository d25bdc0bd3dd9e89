// Number syntax (protocol §3.2) and the RETR count (protocol §2.2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../helpers/fuzz.js';
import { parseNumber, parseRetrCount, parseStrictUnsigned } from '../../lib/vscp/index.js';

const TWO_32 = 2n ** 32n;

/** Reference: the §3.2 rules written the obvious way, with BigInt. */
function refNumber(t: string): number | null {
  if (/^0[xX][0-9a-fA-F]*$/.test(t)) {
    const digits = t.slice(2);
    return digits === '' ? 0 : Number(BigInt('0x' + digits) % TWO_32);
  }
  return refDecimal(t);
}
function refDecimal(t: string): number | null {
  const m = /^([+-]?)([0-9]+)$/.exec(t);
  if (m === null) return null;
  let v = BigInt(m[2] as string) % TWO_32;
  if (m[1] === '-') v = (TWO_32 - v) % TWO_32;
  return Number(v);
}

/** Seeded uniform numbers in [0, 1) (the fuzz helpers' PRNG) so failures reproduce. */
const prng = (seed: number): (() => number) => {
  const rng = new Rng(seed);
  return () => rng.float();
};

test('§3.2: plain decimal', () => {
  assert.equal(parseNumber('0'), 0);
  assert.equal(parseNumber('20'), 20);
  assert.equal(parseNumber('255'), 255);
  assert.equal(parseNumber('4294967295'), 4294967295);
});

test('§3.2: leading zeros stay decimal (010 = 10)', () => {
  assert.equal(parseNumber('010'), 10);
  assert.equal(parseNumber('0000000000000000000000000007'), 7);
  assert.equal(parseNumber('08'), 8);
  assert.equal(parseNumber('09'), 9);
});

test('§3.2: 0x hex, either case of prefix and digits (design.md D10 keeps case)', () => {
  assert.equal(parseNumber('0x1F'), 31);
  assert.equal(parseNumber('0XfF'), 255);
  assert.equal(parseNumber('0xff'), 255);
  assert.equal(parseNumber('0XAbCdEf'), 0xabcdef);
  assert.equal(parseNumber('0x00000000ff'), 255);
  assert.equal(parseNumber('0xffffffff'), 4294967295);
});

test('§9 #57: "0x" alone is 0', () => {
  assert.equal(parseNumber('0x'), 0);
  assert.equal(parseNumber('0X'), 0);
});

test('§9 #57: signs: -0 = 0, +20 = 20, -1 wraps to 4294967295', () => {
  assert.equal(parseNumber('-0'), 0);
  assert.equal(parseNumber('+0'), 0);
  assert.equal(parseNumber('+20'), 20);
  assert.equal(parseNumber('-1'), 4294967295);
  assert.equal(parseNumber('-4294967295'), 1);
  assert.equal(parseNumber('-4294967296'), 0);
});

test('§3.2: values wrap modulo 2^32 (4294967296 = 0)', () => {
  assert.equal(parseNumber('4294967296'), 0);
  assert.equal(parseNumber('4294967297'), 1);
  assert.equal(parseNumber('4294967551'), 255);
  assert.equal(parseNumber('0x100000000'), 0);
  assert.equal(parseNumber('0x1000000ff'), 255);
});

test('§3.2: huge values keep wrapping mod 2^32 (documented divergence from glibc saturation beyond 2^64)', () => {
  assert.equal(parseNumber('99999999999999999999'), Number(99999999999999999999n % TWO_32));
  assert.equal(parseNumber('18446744073709551616'), 0); // 2^64
  assert.equal(parseNumber('18446744073709551617'), 1);
  assert.equal(parseNumber('-99999999999999999999'), refDecimal('-99999999999999999999'));
  const long = '9'.repeat(100000);
  assert.equal(parseNumber(long), Number(BigInt(long) % TWO_32));
  assert.equal(parseNumber('0x' + 'f'.repeat(100000)), 4294967295);
  assert.equal(parseNumber('0x1' + '0'.repeat(1000)), 0);
});

test('§9 #57: bare hex "ff" and other non-numbers are rejected', () => {
  for (const t of ['ff', 'FF', 'a', '0b1', '0B1', '0o7', '1e3', '1.0', '1,', '12a', '0x1g', '0xx1', '0x0x1',
    '+', '-', '++1', '+-1', '-+1', '--1', '+0x1', '-0x1', '0x+1', '0x-1', ' 1', '1 ', '\t1', '1\n', '',
    'x1', 'X', '0 x1', '١', '１', '١٢٣', '\u0000', '1\u0000', '\ud800', '😀', 'NaN', 'Infinity', '0.5', '1_000']) {
    assert.equal(parseNumber(t), null, JSON.stringify(t));
  }
});

test('§3.2: agrees with a BigInt reference on random tokens', () => {
  const rnd = prng(1);
  const alphabet = '0123456789abcdefABCDEFxX+- g';
  for (let n = 0; n < 20000; n++) {
    const len = Math.floor(rnd() * 24);
    let t = rnd() < 0.3 ? '0x' : rnd() < 0.2 ? '-' : '';
    for (let i = 0; i < len; i++) t += alphabet[Math.floor(rnd() * alphabet.length)];
    assert.equal(parseNumber(t), refNumber(t), JSON.stringify(t));
  }
});

test('§3.2: every 32-bit value round trips through decimal, hex and negation', () => {
  const rnd = prng(2);
  for (let n = 0; n < 5000; n++) {
    const v = Math.floor(rnd() * 4294967296);
    assert.equal(parseNumber(String(v)), v);
    assert.equal(parseNumber('0x' + v.toString(16)), v);
    assert.equal(parseNumber('0X' + v.toString(16).toUpperCase()), v);
    assert.equal(parseNumber('-' + v), v === 0 ? 0 : 4294967296 - v);
  }
});

test('§9 #75: RETR count is %u: +2 = 2, -1 = 4294967295, wraps mod 2^32', () => {
  assert.equal(parseRetrCount('0'), 0);
  assert.equal(parseRetrCount('1'), 1);
  assert.equal(parseRetrCount('50'), 50);
  assert.equal(parseRetrCount('+2'), 2);
  assert.equal(parseRetrCount('-1'), 4294967295);
  assert.equal(parseRetrCount('-0'), 0);
  assert.equal(parseRetrCount('007'), 7);
  assert.equal(parseRetrCount('4294967296'), 0);
  assert.equal(parseRetrCount('4294967297'), 1);
  assert.equal(parseRetrCount('99999999999999999999'), Number(99999999999999999999n % TWO_32));
});

test('§9 #75: RETR count 3x, 0x5 and empty are rejected (bare -OK)', () => {
  for (const t of ['3x', '0x5', '0x', '0X5', '', '+', '-', 'ff', '1e3', '1.5', ' 1', '1 ', '１', '\u00001', 'a'.repeat(100000)]) {
    assert.equal(parseRetrCount(t), null, JSON.stringify(t));
  }
});

test('§2.2: RETR count agrees with the decimal reference on random tokens', () => {
  const rnd = prng(3);
  const alphabet = '0123456789+-x ';
  for (let n = 0; n < 10000; n++) {
    const len = Math.floor(rnd() * 22);
    let t = '';
    for (let i = 0; i < len; i++) t += alphabet[Math.floor(rnd() * alphabet.length)];
    assert.equal(parseRetrCount(t), refDecimal(t), JSON.stringify(t));
  }
});

test('parseStrictUnsigned: decimal or 0x hex, no sign, no wrap, bounded', () => {
  assert.equal(parseStrictUnsigned('255', 255), 255);
  assert.equal(parseStrictUnsigned('256', 255), null);
  assert.equal(parseStrictUnsigned('0xFF', 255), 255);
  assert.equal(parseStrictUnsigned('0x100', 255), null);
  assert.equal(parseStrictUnsigned('0x', 255), null);
  assert.equal(parseStrictUnsigned('-1', 255), null);
  assert.equal(parseStrictUnsigned('+1', 255), null);
  assert.equal(parseStrictUnsigned('', 255), null);
  assert.equal(parseStrictUnsigned('4294967295', 4294967295), 4294967295);
  assert.equal(parseStrictUnsigned('4294967296', 4294967295), null);
  assert.equal(parseStrictUnsigned('9'.repeat(100000), 4294967295), null);
  assert.equal(parseStrictUnsigned('007', 255), 7);
});

test('numbers: non-string input from untyped callers gives null', () => {
  const bad = [undefined, null, 5, {}, []] as unknown as string[];
  for (const b of bad) {
    assert.equal(parseNumber(b), null);
    assert.equal(parseRetrCount(b), null);
    assert.equal(parseStrictUnsigned(b, 255), null);
  }
});
