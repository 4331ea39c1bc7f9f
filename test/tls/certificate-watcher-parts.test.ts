/** The parts of `watchCertificates` that need no server: settings, the files it follows, the trust it follows. */
import { resolve } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { InvalidOptionError } from '../../src/errors.js';
import { followTrust, watchedFiles, watcherSettings } from '../../src/tls/certificate-watcher.js';
import { compileMtlsInput } from '../../src/tls/mtls-options.js';
import type { Trust } from '../../src/trust/trust.js';

describe('watcherSettings', () => {
  it('applies the documented defaults', () => {
    expect(watcherSettings({})).toMatchObject({
      debounceMs: 300,
      pollIntervalMs: 30_000,
      retryMs: 1000,
      closeIdleConnections: true,
      watch: true,
      onRotated: undefined,
      onAudit: undefined,
    });
  });

  it.each([
    [{ debounceMs: 60_001 }, 'watchCertificates.options.debounceMs'],
    [{ pollIntervalMs: 99 }, 'watchCertificates.options.pollIntervalMs'],
    [{ retryMs: 9 }, 'watchCertificates.options.retryMs'],
    [{ watch: 'yes' }, 'watchCertificates.options.watch'],
    [{ onError: 'log' }, 'watchCertificates.options.onError'],
  ])('refuses %o naming the option', (options, path) => {
    expect(() => watcherSettings(options as never)).toThrow(InvalidOptionError);
    expect(() => watcherSettings(options as never)).toThrow(expect.objectContaining({ path }));
  });
});

describe('watchedFiles', () => {
  it('lists every file the input reads, as absolute paths', () => {
    const compiled = compileMtlsInput({ keyFile: 'k.pem', certFile: '/tls/c.pem', caFile: '/tls/ca.pem' });
    expect(watchedFiles(compiled)).toEqual([resolve('k.pem'), '/tls/c.pem', '/tls/ca.pem']);
  });

  it('refuses an input with nothing to follow (inline PEM never changes)', () => {
    const compiled = compileMtlsInput({ key: 'k', cert: 'c', ca: 'a' });
    expect(() => watchedFiles(compiled)).toThrow(expect.objectContaining({ path: 'watchCertificates.input' }));
  });
});

/** A trust with files whose reload() fires its change listeners, as a real one does when a bundle changed. */
function fakeTrust(files: readonly string[]) {
  const listeners = new Set<(trust: Trust) => void>();
  const trust = {
    files,
    reload: vi.fn(() => {
      for (const listener of listeners) listener(trust as unknown as Trust);
      return true;
    }),
    onChange(listener: (trust: Trust) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    changeElsewhere: () => {
      for (const listener of listeners) listener(trust as unknown as Trust);
    },
  };
  return trust;
}

describe('followTrust', () => {
  it('reports a change made elsewhere, but not the one its own reloadFiles() causes', () => {
    const trust = fakeTrust(['/tls/ca.pem']);
    const onExternalChange = vi.fn();
    const follower = followTrust(trust, onExternalChange);
    follower.reloadFiles();
    expect(trust.reload).toHaveBeenCalledTimes(1);
    expect(onExternalChange).not.toHaveBeenCalled();
    trust.changeElsewhere();
    expect(onExternalChange).toHaveBeenCalledTimes(1);
    follower.close();
    trust.changeElsewhere();
    expect(onExternalChange).toHaveBeenCalledTimes(1);
  });

  it('does not reload a trust without files (in-memory PEMs), nor a missing one', () => {
    const trust = fakeTrust([]);
    followTrust(trust, () => undefined).reloadFiles();
    expect(trust.reload).not.toHaveBeenCalled();
    expect(() => followTrust(undefined, () => undefined).reloadFiles()).not.toThrow();
  });
});
