/**
 * Sandboxed paths: a root held open, a pure lexical validator, an fd-walk `open()` and the `sandboxPath` middleware.
 *
 * @module sandbox
 */
export type { SandboxOpenFlags, SymlinkPolicy } from './fd-walk.js';
export {
  type SandboxPathAccepted,
  type SandboxPathReason,
  type SandboxPathRejected,
  type SandboxPathResult,
  type SandboxPathRules,
  validateSandboxPath,
} from './lexical.js';
export {
  type SandboxedRequestPath,
  type SandboxedState,
  type SandboxPathOptions,
  sandboxPath,
} from './middleware.js';
export {
  createSandbox,
  type MountPolicy,
  type Sandbox,
  type SandboxMode,
  type SandboxOpenedFile,
  type SandboxOpenOptions,
  type SandboxOptions,
} from './sandbox.js';
export { type SandboxDenyReason, SandboxPathError, type SandboxReason } from './sandbox-error.js';
