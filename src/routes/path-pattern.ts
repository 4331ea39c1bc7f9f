/**
 * A reader for @koa/router (path-to-regexp v8) path patterns: `:param`, `*wildcard`, `{optional}` groups and `\`
 * escapes. It never builds a regexp: it expands a pattern into concrete sample paths (to ask a router-level layer
 * whether it covers a route) and into OpenAPI path templates.
 *
 * @module routes/path-pattern
 */

/**
 * One piece of a pattern once optional groups are expanded.
 */
export type PatternPart =
  | { readonly type: 'text'; readonly value: string }
  | { readonly type: 'param'; readonly name: string }
  | { readonly type: 'wildcard'; readonly name: string };

type Token = PatternPart | { readonly type: 'group'; readonly tokens: readonly Token[] };

/** At most this many expansions of optional groups per route (2^4): enough for real routes, bounded for odd ones. */
const MAX_VARIANTS = 16;

const ID_START = /^[$_\p{ID_Start}]$/u;
const ID_CONTINUE = /^(?:[$\p{ID_Continue}]|\u200c|\u200d)$/u;

class Reader {
  index = 0;
  constructor(readonly text: string) {}

  name(): string | undefined {
    const { text } = this;
    if (text[this.index] === '"') {
      // path-to-regexp v8 quoted names: `:"a b"`, with `\` escapes inside.
      let value = '';
      for (this.index += 1; this.index < text.length; this.index += 1) {
        const char = text[this.index];
        if (char === '"') {
          this.index += 1;
          return value === '' ? undefined : value;
        }
        if (char === '\\') this.index += 1;
        value += text[this.index] ?? '';
      }
      return undefined;
    }
    const start = this.index;
    if (!ID_START.test(text[this.index] ?? '')) return undefined;
    this.index += 1;
    while (this.index < text.length && ID_CONTINUE.test(text[this.index] ?? '')) this.index += 1;
    return text.slice(start, this.index);
  }

  tokens(inGroup: boolean): Token[] | undefined {
    const tokens: Token[] = [];
    let text = '';
    const flush = (): void => {
      if (text !== '') tokens.push({ type: 'text', value: text });
      text = '';
    };
    while (this.index < this.text.length) {
      const char = this.text[this.index] as string;
      if (char === '\\') {
        text += this.text[this.index + 1] ?? '';
        this.index += 2;
      } else if (char === ':' || char === '*') {
        flush();
        this.index += 1;
        const name = this.name();
        if (name === undefined) return undefined;
        tokens.push({ type: char === ':' ? 'param' : 'wildcard', name });
      } else if (char === '{') {
        flush();
        this.index += 1;
        const group = this.tokens(true);
        if (group === undefined) return undefined;
        tokens.push({ type: 'group', tokens: group });
      } else if (char === '}') {
        this.index += 1;
        flush();
        return inGroup ? tokens : undefined;
      } else {
        text += char;
        this.index += 1;
      }
    }
    flush();
    // An unclosed `{` is a pattern the router itself would have refused.
    return inGroup ? undefined : tokens;
  }
}

function expand(tokens: readonly Token[]): PatternPart[][] {
  let variants: PatternPart[][] = [[]];
  for (const token of tokens) {
    if (token.type !== 'group') {
      for (const variant of variants) variant.push(token);
      continue;
    }
    const inner = expand(token.tokens);
    const next: PatternPart[][] = [];
    for (const variant of variants) {
      next.push([...variant]);
      for (const option of inner) next.push([...variant, ...option]);
    }
    variants = next.slice(0, MAX_VARIANTS);
  }
  return variants;
}

/**
 * Expands a router path pattern into its optional-group variants, or `undefined` when it is not a pattern this reader
 * understands (the caller then treats the route's path as opaque).
 */
export function patternVariants(path: string): PatternPart[][] | undefined {
  const tokens = new Reader(path).tokens(false);
  return tokens === undefined ? undefined : expand(tokens);
}

// Two unlike values per parameter: a router-level layer with a literal where the route has a parameter can match at
// most one of them, so "matches every sample" means "runs for every request of the route".
const SAMPLE_VALUES = [
  { param: 'k0a', wildcard: 'k0a/k0b' },
  { param: 'z9y', wildcard: 'z9y' },
] as const;

/**
 * Concrete request paths that together exercise every variant of a pattern (two per variant).
 */
export function samplePaths(variants: readonly (readonly PatternPart[])[]): string[] {
  const samples: string[] = [];
  for (const variant of variants) {
    for (const values of SAMPLE_VALUES) {
      samples.push(variant.map((part) => (part.type === 'text' ? part.value : values[part.type])).join(''));
    }
  }
  return samples;
}

/**
 * The OpenAPI path template of one variant (`:id` and `*rest` become `{id}` and `{rest}`) and its path parameters.
 */
export function openApiTemplate(variant: readonly PatternPart[]): { path: string; params: string[] } {
  const params: string[] = [];
  const path = variant
    .map((part) => {
      if (part.type === 'text') return part.value;
      params.push(part.name);
      return `{${part.name}}`;
    })
    .join('');
  return { path: path.startsWith('/') ? path : `/${path}`, params };
}
