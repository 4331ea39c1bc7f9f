/**
 * The inputs every check shares (read once per audit), and the small result type each check returns.
 */
import { createHostView, type HostView, parseStatusFile } from './host-view.js';
import { type MountEntry, parseMountinfo } from './mountinfo.js';
import type { PostureSeverity, PostureStatus } from './types.js';

/**
 * What a check concluded, before the catalog adds its title, why and fix.
 */
export interface Outcome {
  readonly status: PostureStatus;
  /** Ignored for `unknown` (the catalog's worst case is used) and `ok` (`info`). */
  readonly severity: PostureSeverity;
  readonly evidence: readonly string[];
}

/**
 * An `ok` outcome.
 */
export function ok(...evidence: string[]): Outcome {
  return { status: 'ok', severity: 'info', evidence };
}

/**
 * A finding of `severity`.
 */
export function finding(severity: PostureSeverity, evidence: readonly string[]): Outcome {
  return { status: 'finding', severity, evidence };
}

/**
 * A check that could not be made.
 */
export function unknown(...evidence: string[]): Outcome {
  return { status: 'unknown', severity: 'info', evidence };
}

/**
 * `/proc/self/status` fields, or why they could not be read.
 */
export type StatusInput =
  | { readonly ok: true; readonly fields: ReadonlyMap<string, string> }
  | { readonly ok: false; readonly error: string };

/**
 * `/proc/self/mountinfo` entries, or why they could not be read.
 */
export type MountsInput =
  | { readonly ok: true; readonly mounts: readonly MountEntry[]; readonly malformed: number }
  | { readonly ok: false; readonly error: string };

/**
 * Everything the checks read more than once.
 */
export interface AuditInputs {
  readonly view: HostView;
  readonly status: StatusInput;
  readonly mounts: MountsInput;
}

/**
 * Reads the shared inputs under `root`.
 */
export function readInputs(root: string): AuditInputs {
  const view = createHostView(root);
  const statusText = view.readText('/proc/self/status');
  const mountsText = view.readText('/proc/self/mountinfo');
  const status: StatusInput = statusText.ok
    ? { ok: true, fields: parseStatusFile(statusText.text) }
    : { ok: false, error: statusText.error };
  let mounts: MountsInput;
  if (!mountsText.ok) {
    mounts = { ok: false, error: mountsText.error };
  } else {
    const parsed = parseMountinfo(mountsText.text);
    // an empty mount table is not a real /proc: there is always a root mount
    mounts = parsed.mounts.length === 0 ? { ok: false, error: 'EMPTY' } : { ok: true, ...parsed };
  }
  return { view, status, mounts };
}

/**
 * The text of a failed read, e.g. `/proc/self/status: ENOENT`.
 */
export function cannotRead(path: string, error: string): string {
  return `cannot read ${path} (${error})`;
}
