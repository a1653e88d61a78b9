import { csvCell } from '../../../shared/csv';

/** CSV (RFC 4180 quoting, formula-looking text prefixed: shared/csv.ts) of rows of plain values, columns in the given order. */
export function toCsv(rows: Record<string, string | number | null>[], columns: string[]): string {
  return [columns.map((c) => csvCell(c)).join(','), ...rows.map((r) => columns.map((c) => csvCell(r[c])).join(','))].join('\n') + '\n';
}
