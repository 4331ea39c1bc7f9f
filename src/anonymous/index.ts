/**
 * Anonymous routes on a server that accepts clients without a certificate: the `allowAnonymous()` marker.
 *
 * @module anonymous
 */
export { allowAnonymous } from './allow-anonymous.js';
