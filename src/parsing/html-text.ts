// HTML-only mail → the Markdown-ish text GitLab makes of it (its
// HtmlToMarkdownParser): <strong> → **x**, <em> → *x*, <img> → ![alt](src),
// <details>/<summary> kept as HTML (GitLab renders them), links shown as
// their URL, table rows as tab-separated lines, blockquotes as plain
// paragraphs. html-to-text does the walking; only the two formats it lacks
// (Markdown image, tab-separated table) are written here.
import { compile } from 'html-to-text'
import type { DomNode, FormatCallback } from 'html-to-text'

const markdownImage: FormatCallback = (elem, _walk, builder) => {
  const { src, alt } = elem.attribs ?? {}
  if (src) builder.addInline(`![${alt ?? ''}](${src})`, { noWordTransform: true })
  else if (alt) builder.addInline(alt)
}

const tabSeparatedTable: FormatCallback = (elem, walk, builder) => {
  builder.openTable()
  const visit = (node: DomNode): void => {
    if (node.type !== 'tag') return
    if (node.name !== 'tr') {
      node.children.forEach(visit) // thead, tbody, tfoot and stray wrappers
      return
    }
    builder.openTableRow()
    for (const cell of node.children) {
      if (cell.type !== 'tag' || (cell.name !== 'td' && cell.name !== 'th')) continue
      builder.openTableCell()
      walk(cell.children, builder)
      builder.closeTableCell()
    }
    builder.closeTableRow()
  }
  elem.children.forEach(visit)
  builder.closeTable({
    tableToString: (rows) => rows.map((cells) => cells.map((c) => c.text).join('\t')).join('\n'),
  })
}

/**
 * HTML converted, in characters: the conversion is synchronous, on the event
 * loop, and costs about 1 ms and 0.1 MB per KB, so a cap bounds both the stall
 * and the memory; 256 Ki characters still give over 100 K characters of text,
 * more than any issue or note is read for. The HTML past it stays in the raw.
 */
export const MAX_HTML_CHARS = 256 * 1024
/** Elements nested deeper are skipped: the walk is recursive. */
const MAX_DEPTH = 200

const convert = compile({
  wordwrap: false, // the text becomes Markdown: line breaks there are meaningful
  limits: { maxDepth: MAX_DEPTH },
  formatters: { markdownImage, tabSeparatedTable },
  selectors: [
    { selector: 'a', options: { hideLinkHrefIfSameAsText: true, linkBrackets: ['(', ')'] } },
    { selector: 'img', format: 'markdownImage' },
    { selector: 'strong', format: 'inlineSurround', options: { prefix: '**', suffix: '**' } },
    { selector: 'em', format: 'inlineSurround', options: { prefix: '*', suffix: '*' } },
    { selector: 'details', format: 'blockTag' },
    { selector: 'summary', format: 'inlineTag' },
    { selector: 'table', format: 'tabSeparatedTable' },
    { selector: 'blockquote', format: 'block' },
    { selector: 'h1', options: { uppercase: false } },
    { selector: 'h2', options: { uppercase: false } },
    { selector: 'h3', options: { uppercase: false } },
    { selector: 'h4', options: { uppercase: false } },
    { selector: 'h5', options: { uppercase: false } },
    { selector: 'h6', options: { uppercase: false } },
  ],
})

export function htmlToMarkdownText (html: string): string {
  // Empty <div><br></div> spacers would leave runs of blank lines: in
  // Markdown one blank line already separates paragraphs.
  return convert(html.slice(0, MAX_HTML_CHARS)).replace(/\n{3,}/g, '\n\n')
}
