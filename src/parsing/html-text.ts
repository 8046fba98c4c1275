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

const convert = compile({
  wordwrap: false, // the text becomes Markdown: line breaks there are meaningful
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
  return convert(html).replace(/\n{3,}/g, '\n\n')
}
