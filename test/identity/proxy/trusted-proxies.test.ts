import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../../src/errors.js';
import { compileAddresses } from '../../../src/identity/proxy/trusted-proxies.js';

describe('when matching the TCP peer address against trusted proxies', () => {
  const trusted = compileAddresses(['10.0.0.0/8', '192.0.2.7', 'fd00::/8', '::1'], 'p');
  it.each([
    ['10.1.2.3', true],
    ['11.0.0.1', false],
    ['192.0.2.7', true],
    ['192.0.2.8', false],
    ['::ffff:10.1.2.3', true],
    ['fd12::1', true],
    ['fe80::1', false],
    ['::1', true],
    ['127.0.0.1', false],
    ['not-an-ip', false],
    [undefined, false],
  ])('%s → %s', (address, expected) => {
    expect(trusted(address)).toBe(expected);
  });
});

describe('when the address list is invalid', () => {
  it.each([
    [[], 'p'],
    ['10.0.0.0/8', 'p'],
    [['10.0.0.0/33'], 'p[0]'],
    [['::/129'], 'p[0]'],
    [['10.0.0.0/-1'], 'p[0]'],
    [['10.0.0.0/8/1'], 'p[0]'],
    [['example.com'], 'p[0]'],
    [[42], 'p[0]'],
  ])('throws InvalidOptionError for %j at %s', (entries, path) => {
    expect(() => compileAddresses(entries, 'p')).toThrow(InvalidOptionError);
    try {
      compileAddresses(entries, 'p');
    } catch (error) {
      expect((error as InvalidOptionError).path).toBe(path);
    }
  });
});
