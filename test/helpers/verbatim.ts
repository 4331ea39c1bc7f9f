import { readFileSync } from 'node:fs';

/**
 * The fenced code block right after `<!-- verbatim: NAME -->` in a markdown file: the text a reader copies, which the
 * tests run as written.
 */
export function verbatimBlock(file: string, name: string): string {
  const text = readFileSync(file, 'utf8');
  const marker = `<!-- verbatim: ${name} -->`;
  const at = text.indexOf(marker);
  if (at === -1) throw new Error(`${file}: no ${marker}`);
  const fence = /```[a-z]*\n([\s\S]*?)\n```/.exec(text.slice(at + marker.length));
  if (fence?.[1] === undefined) throw new Error(`${file}: no code block after ${marker}`);
  return fence[1];
}
