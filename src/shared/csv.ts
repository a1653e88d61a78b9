/**
 * One CSV cell, for every CSV DINO Lab writes (samples.csv, predictions.csv, the tables the UI exports).
 * RFC 4180 quoting, plus the OWASP guidance on CSV injection: a text cell that starts with = + - @, a tab
 * or a carriage return is read as a formula by spreadsheet programs, so it gets a leading single quote
 * (and is quoted). Plain numbers (-1.5, +2e-3) are not formulas and stay as they are.
 */
const FORMULA_START = /^[=+\-@\t\r]/;
const PLAIN_NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

export function csvCell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return String(v);
  const guarded = FORMULA_START.test(v) && !PLAIN_NUMBER.test(v);
  const s = guarded ? `'${v}` : v;
  return guarded || /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
