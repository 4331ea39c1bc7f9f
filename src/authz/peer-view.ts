/**
 * A request's peer, normalized for matching on first use: one list of normalized values per condition kind (lower-
 * cased DNS names, split URIs and emails, IP bytes, the split SPIFFE ID) and one attribute map per DN. Built once per
 * identity, so its cost follows the peer's SAN count, never the policy's size. A raw value that fails normalization
 * is dropped (it never matches) and marks its kind unreadable, so a deny rule over that kind fails closed.
 */
import type { PeerIdentity } from '../identity/peer-identity.js';
import type { AnyConditionKind, PeerValues } from './conditions.js';

const NO_VALUES: readonly string[] = Object.freeze([]);

/** The lazily normalized view of one peer. */
export class PeerView {
  readonly peer: PeerIdentity;
  readonly #values = new Map<AnyConditionKind, PeerValues<unknown>>();
  #subject: ReadonlyMap<string, readonly string[]> | undefined;
  #issuer: ReadonlyMap<string, readonly string[]> | undefined;

  constructor(peer: PeerIdentity) {
    this.peer = peer;
  }

  /** The peer's normalized values of `kind`, computed on first use. */
  values<V>(kind: AnyConditionKind): PeerValues<V> {
    let values = this.#values.get(kind);
    if (values === undefined) {
      values = kind.peerValues(this);
      this.#values.set(kind, values);
    }
    return values as PeerValues<V>;
  }

  /** Normalizes raw values with `parse`; a value it rejects (`undefined`) is dropped and marks the list unreadable. */
  normalize<V>(raw: readonly string[], parse: (value: string) => V | undefined): PeerValues<V> {
    const values: V[] = [];
    for (const value of raw) {
      const parsed = parse(value);
      if (parsed !== undefined) values.push(parsed);
    }
    return { values, unreadable: values.length !== raw.length };
  }

  /**
   * The values of one DN attribute by OID, in certificate order, from one walk over `rdns` per request (however many
   * rules name the attribute).
   */
  attributeValues(which: 'subject' | 'issuer', oid: string): readonly string[] {
    let index = which === 'subject' ? this.#subject : this.#issuer;
    if (index === undefined) {
      const built = new Map<string, string[]>();
      for (const rdn of this.peer[which].rdns) {
        for (const attribute of rdn) {
          const values = built.get(attribute.oid);
          if (values === undefined) built.set(attribute.oid, [attribute.value]);
          else values.push(attribute.value);
        }
      }
      index = built;
      if (which === 'subject') this.#subject = built;
      else this.#issuer = built;
    }
    return index.get(oid) ?? NO_VALUES;
  }
}
