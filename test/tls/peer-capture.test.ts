import { describe, expect, it } from 'vitest';
import { isAudited, markAudited } from '../../src/tls/peer-capture.js';

describe('which servers audit rejected handshakes', () => {
  it('counts one mark per attached hook, and each unmark removes only its own', () => {
    const server = {};
    expect(isAudited(server)).toBe(false);
    const first = markAudited(server);
    const second = markAudited(server);
    first();
    expect(isAudited(server)).toBe(true);
    first(); // idempotent: a second call must not remove the other hook's mark
    expect(isAudited(server)).toBe(true);
    second();
    expect(isAudited(server)).toBe(false);
  });

  it('keeps servers apart', () => {
    const audited = {};
    markAudited(audited);
    expect(isAudited(audited)).toBe(true);
    expect(isAudited({})).toBe(false);
  });
});
