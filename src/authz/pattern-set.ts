/**
 * The patterns of one condition kind, indexed so that a decision costs the same over 10 or 10,000 of them: exact
 * patterns in a hash map, globs in a trie keyed by their literal leading segments (DNS labels right to left, SPIFFE
 * and URI path segments), so only the globs that share a value's literal prefix are tried. Kinds without an index
 * (IP blocks) are scanned in order.
 */
import type { AnyConditionKind, PeerValues } from './conditions.js';
import type { Verdict } from './nodes.js';

/** One compiled pattern, its position in policy order (lower wins) and the verdict it allows with. */
export interface IndexedEntry {
  readonly pattern: unknown;
  readonly order: number;
  readonly verdict: Verdict;
}

interface TrieNode {
  readonly children: Map<string, TrieNode>;
  readonly entries: IndexedEntry[];
}

/** A peer value could not be judged by some pattern and none matched: a deny rule must treat it as a match. */
export const UNDETERMINED: unique symbol = Symbol('undetermined');

const newNode = (): TrieNode => ({ children: new Map(), entries: [] });

/** An indexed set of patterns of one kind. */
export class PatternSet {
  readonly kind: AnyConditionKind;
  readonly #exact = new Map<string, IndexedEntry>();
  readonly #trie: TrieNode = newNode();
  readonly #scan: IndexedEntry[] = [];
  readonly #hasTrie: boolean;

  /** `entries` must be in increasing `order`. */
  constructor(kind: AnyConditionKind, entries: readonly IndexedEntry[]) {
    this.kind = kind;
    const exactKey = kind.valueKey === undefined ? undefined : kind.exactKey;
    const prefix = kind.valueSegments === undefined ? undefined : kind.prefix;
    let hasTrie = false;
    for (const entry of entries) {
      const key = exactKey?.(entry.pattern);
      if (key !== undefined) {
        // The first entry in policy order wins, as in a linear scan.
        if (!this.#exact.has(key)) this.#exact.set(key, entry);
      } else if (prefix !== undefined) {
        let node = this.#trie;
        for (const segment of prefix(entry.pattern)) {
          let child = node.children.get(segment);
          if (child === undefined) {
            child = newNode();
            node.children.set(segment, child);
          }
          node = child;
        }
        node.entries.push(entry);
        hasTrie = true;
      } else {
        this.#scan.push(entry);
      }
    }
    this.#hasTrie = hasTrie;
  }

  /**
   * The first entry in policy order that matches any of the values; else {@link UNDETERMINED} when a value was
   * unreadable or too ambiguous for a pattern to judge; else `undefined`.
   */
  find(peerValues: PeerValues<unknown>): IndexedEntry | typeof UNDETERMINED | undefined {
    const kind = this.kind;
    let best: IndexedEntry | undefined;
    let undetermined = peerValues.unreadable;
    // Tries `entries` (in order) against `value`, keeping the best match; entries after the best are skipped.
    const tryEntries = (entries: readonly IndexedEntry[], value: unknown): void => {
      for (const entry of entries) {
        if (best !== undefined && entry.order >= best.order) return;
        const matched = kind.matches(entry.pattern, value);
        if (matched === true) {
          best = entry;
          return;
        }
        if (matched === undefined) undetermined = true;
      }
    };
    for (const value of peerValues.values) {
      if (this.#exact.size > 0) {
        const hit = this.#exact.get((kind.valueKey as (value: unknown) => string)(value));
        if (hit !== undefined && (best === undefined || hit.order < best.order)) best = hit;
      }
      if (this.#hasTrie) {
        let node: TrieNode | undefined = this.#trie;
        tryEntries(node.entries, value);
        for (const segment of (kind.valueSegments as (value: unknown) => readonly string[])(value)) {
          node = node.children.get(segment);
          if (node === undefined) break;
          tryEntries(node.entries, value);
        }
      }
      tryEntries(this.#scan, value);
    }
    if (best !== undefined) return best;
    return undetermined ? UNDETERMINED : undefined;
  }
}
