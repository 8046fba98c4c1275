/** Plain aligned columns for human-readable CLI output. */
export function printTable (rows: Array<Record<string, string | number>>, out: NodeJS.WritableStream = process.stdout): void {
  if (rows.length === 0) { out.write('(none)\n'); return }
  const keys = Object.keys(rows[0])
  const widths = keys.map(k => Math.max(k.length, ...rows.map(r => String(r[k]).length)))
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd() + '\n'
  out.write(line(keys.map(k => k.toUpperCase())))
  for (const r of rows) out.write(line(keys.map(k => String(r[k]))))
}
