// Number formats shared by the rows and the report.
export const MIB = 1024 * 1024
export const int = (n: number) => Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-'
export const dec = (n: number, digits = 1) => Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-'
export const mib = (bytes: number) => `${dec(bytes / MIB)} MiB`
export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN

/** Aligned columns; the columns in `alignLeft` are padded on the right. */
export function table (rows: string[][], alignLeft: number[]): string[] {
  const widths = rows[0]!.map((_cell, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)))
  return rows.map((row) => row.map((cell, i) => alignLeft.includes(i) ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)).join('  ').trimEnd())
}
