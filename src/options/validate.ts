/**
 * Option validation shared by every factory: run once, at startup, throwing {@link InvalidOptionError} with the
 * option's path. Presence is tested with `Object.hasOwn`, so inherited properties never count.
 */
import { InvalidOptionError } from '../errors.js';

/** A value is a plain object: `{}` or `Object.create(null)`, not an array, class instance or null. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Asserts `value` is a plain object whose own keys are all in `allowed` (a typo is an error, not a silent no-op). */
export function assertOptionsObject(
  value: unknown,
  path: string,
  allowed: readonly string[],
): asserts value is Record<string, unknown> {
  if (!isPlainObject(value)) throw new InvalidOptionError(path, 'must be a plain object');
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new InvalidOptionError(`${path}.${key}`, `is not a known option (known: ${allowed.join(', ')})`);
    }
  }
}

/** Reads an own property, ignoring inherited ones. */
export function ownValue(object: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/** An optional non-empty string option. */
export function optionalString(object: Record<string, unknown>, key: string, path: string): string | undefined {
  const value = ownValue(object, key);
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidOptionError(`${path}.${key}`, 'must be a non-empty string');
  }
  return value;
}

/** An optional boolean option. */
export function optionalBoolean(object: Record<string, unknown>, key: string, path: string): boolean | undefined {
  const value = ownValue(object, key);
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new InvalidOptionError(`${path}.${key}`, 'must be a boolean');
  return value;
}

/** An optional function option. */
export function optionalFunction<F extends (...args: never[]) => unknown>(
  object: Record<string, unknown>,
  key: string,
  path: string,
): F | undefined {
  const value = ownValue(object, key);
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw new InvalidOptionError(`${path}.${key}`, 'must be a function');
  return value as F;
}

/** An optional integer option within `[min, max]`. */
export function optionalInteger(
  object: Record<string, unknown>,
  key: string,
  path: string,
  min: number,
  max: number,
): number | undefined {
  const value = ownValue(object, key);
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(`${path}.${key}`, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** An optional option restricted to one of `choices`. */
export function optionalChoice<T extends string>(
  object: Record<string, unknown>,
  key: string,
  path: string,
  choices: readonly T[],
): T | undefined {
  const value = ownValue(object, key);
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw new InvalidOptionError(`${path}.${key}`, `must be one of ${choices.map((c) => `'${c}'`).join(', ')}`);
  }
  return value as T;
}
