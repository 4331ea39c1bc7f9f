/**
 * Compares markdown tables regardless of column padding: the formatter pads the tables in docs/, the renderers in
 * these helpers do not.
 */

/** `text` with every table row's cell padding and separator dashes collapsed (`|  a   | --- |` → `| a | --- |`). */
export function normalizeMarkdownTables(text: string): string {
  return text
    .split('\n')
    .map((line) =>
      line.trimStart().startsWith('|')
        ? line
            .trim()
            .replace(/ {2,}/g, ' ')
            .replace(/\| -{3,} /g, '| --- ')
        : line,
    )
    .join('\n');
}
