/**
 * The trust layer: PEM and CRL loading, key and signature rules, and path building by signature.
 *
 * @module trust
 */

export { createTrust, type Trust, type TrustOptions, type TrustSource } from './trust.js';
