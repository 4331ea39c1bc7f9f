import { describe, expect, it } from 'vitest';
import { allows } from '../helpers.js';

describe('san.email patterns', () => {
  it.each([
    // domain case-insensitive, local part exact (Node checkEmail semantics)
    { pattern: 'alice@example.com', email: 'alice@EXAMPLE.com', allowed: true },
    { pattern: 'alice@example.com', email: 'Alice@example.com', allowed: false },
    { pattern: 'alice@example.com', email: 'alice@example.com.evil', allowed: false },
    { pattern: 'alice@example.com', email: 'xalice@example.com', allowed: false },
    { pattern: '*@example.com', email: 'bob@example.com', allowed: true },
    { pattern: '*@example.com', email: 'bob@sub.example.com', allowed: false },
    { pattern: '*@*.example.com', email: 'bob@sub.example.com', allowed: true },
    { pattern: 'alice@bücher.example', email: 'alice@xn--bcher-kva.example', allowed: true },
    // injection: one SAN holding a second "entry"
    { pattern: 'admin@example.com', email: 'x@example.com, email:admin@example.com', allowed: false },
    { pattern: '*@example.com', email: 'x@evil.com, email:admin@example.com', allowed: false },
    { pattern: '*@example.com', email: '@example.com', allowed: false },
  ])('$pattern vs email SAN $email → $allowed', async ({ pattern, email, allowed }) => {
    expect(await allows({ san: { email: pattern } }, { san: { email: [email] } })).toBe(allowed);
  });

  it('does not match a subject emailAddress attribute', async () => {
    const peer = { subject: [[['emailAddress', 'alice@example.com']]] as const };
    expect(await allows({ san: { email: 'alice@example.com' } }, peer)).toBe(false);
  });
});
