/**
 * Identity and authorization for HTTP/1.1 upgrade requests (WebSocket).
 *
 * @module upgrade
 */
export { type GuardUpgradeOptions, guardUpgrade } from './guard-upgrade.js';
