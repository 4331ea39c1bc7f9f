/**
 * Route inventory: which routes are guarded, by which identity policy and sandbox, as data and as OpenAPI 3.1.
 *
 * @module routes
 */
export type {
  GuardScope,
  RouteDescription,
  RouteFlag,
  RoutePolicy,
  RouteSandbox,
} from './describe-routes.js';
export { describeRoutes } from './describe-routes.js';
export type { KoaMtlsOperationExtension, OpenApiDocument, OpenApiSecurityOptions } from './openapi-security.js';
export { openapiSecurity } from './openapi-security.js';
