/** Ordering of {@link PostureSeverity}: a larger rank is more severe. */
import type { PostureSeverity } from './types.js';

const RANK: Readonly<Record<PostureSeverity, number>> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

/**
 * Every severity, most severe first.
 */
export const SEVERITIES: readonly PostureSeverity[] = ['critical', 'high', 'medium', 'low', 'info'];

/**
 * Whether `severity` is at or above `threshold`.
 */
export function atLeast(severity: PostureSeverity, threshold: PostureSeverity): boolean {
  return RANK[severity] >= RANK[threshold];
}

/**
 * The more severe of the two.
 */
export function maxSeverity(a: PostureSeverity, b: PostureSeverity): PostureSeverity {
  return RANK[a] >= RANK[b] ? a : b;
}

/**
 * Sort comparator: most severe first.
 */
export function bySeverity(a: { severity: PostureSeverity }, b: { severity: PostureSeverity }): number {
  return RANK[b.severity] - RANK[a.severity];
}
