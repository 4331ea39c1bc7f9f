import { describe, expect, expectTypeOf, it } from 'vitest';
import { compilePolicy } from '../../src/authz/compile.js';
import { conditionKinds, type SanRule } from '../../src/authz/conditions.js';

type SanName<Key> = Key extends `san.${infer Name}` ? Name : never;
/** The registry's `san.*` keys without the prefix, as literal types. */
type RegisteredSanName = SanName<(typeof conditionKinds)[number]['key']>;

/** One valid pattern per SanRule field: a missing or an extra field is a type error here. */
const samples = {
  dns: 'a.example.com',
  uri: 'spiffe://example.org/a',
  email: 'a@b.example.com',
  ip: '10.0.0.1',
  upn: 'a@example.com',
} satisfies Record<keyof SanRule, string>;

const registeredSanNames = conditionKinds.flatMap((kind) =>
  kind.key.startsWith('san.') ? [kind.key.slice('san.'.length)] : [],
);

describe('the condition registry and the SanRule type', () => {
  it('has a SanRule field for every registered san.* kind and a kind for every field (tsc checks this line)', () => {
    expectTypeOf<RegisteredSanName>().toEqualTypeOf<keyof SanRule>();
  });

  it('registers exactly the SanRule fields, at run time too', () => {
    expect([...registeredSanNames].sort()).toEqual(Object.keys(samples).sort());
  });

  it.each(Object.entries(samples))('compiles a rule on san.%s through its registered kind', (name, pattern) => {
    const compiled = compilePolicy(
      { san: { [name]: pattern } },
      { allowBareWildcards: false, allowCommonNameOnly: false },
    );
    expect(compiled.description).toBe(`san.${name} in [${pattern}]`);
  });
});
