/**
 * Distinguished-name attribute types: the short names of RFC 4514 §3 (plus the common ones OpenSSL prints) and
 * their OIDs. An attribute whose OID is not here is printed as its dotted OID (RFC 4514 §2.3).
 */

/** Short name → OID. */
export const attributeTypeOids: Readonly<Record<string, string>> = Object.freeze({
  CN: '2.5.4.3',
  SN: '2.5.4.4',
  serialNumber: '2.5.4.5',
  C: '2.5.4.6',
  L: '2.5.4.7',
  ST: '2.5.4.8',
  STREET: '2.5.4.9',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  title: '2.5.4.12',
  GN: '2.5.4.42',
  initials: '2.5.4.43',
  dnQualifier: '2.5.4.46',
  pseudonym: '2.5.4.65',
  DC: '0.9.2342.19200300.100.1.25',
  UID: '0.9.2342.19200300.100.1.1',
  emailAddress: '1.2.840.113549.1.9.1',
});

const shortNamesByOid: ReadonlyMap<string, string> = new Map(
  Object.entries(attributeTypeOids).map(([name, oid]) => [oid, name]),
);
const oidsByLowerName: ReadonlyMap<string, string> = new Map(
  Object.entries(attributeTypeOids).map(([name, oid]) => [name.toLowerCase(), oid]),
);

const dottedOid = /^[0-2](\.(0|[1-9][0-9]*))+$/;

/** The OID of a short name (case-insensitive, RFC 4514 §3) or of a dotted OID; `undefined` when unknown. */
export function attributeTypeOid(nameOrOid: string): string | undefined {
  if (dottedOid.test(nameOrOid)) return nameOrOid;
  return oidsByLowerName.get(nameOrOid.toLowerCase());
}

/** The RFC 4514 short name of an OID, or `undefined` when it has none. */
export function attributeShortName(oid: string): string | undefined {
  return shortNamesByOid.get(oid);
}
