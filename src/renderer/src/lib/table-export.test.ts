import { describe, expect, it } from 'vitest';
import { toCsv } from './table-export';

describe('toCsv (the comparison table the UI exports)', () => {
  it('quotes per RFC 4180 and prefixes text a spreadsheet would run as a formula; numbers stay numbers', () => {
    const rows = [
      { run: '=HYPERLINK("http://evil.example")', kind: 'svc', acc: 0.9 },
      { run: '+cmd', kind: '@SUM(A1)', acc: -0.5 },
      { run: '-2+3', kind: '\rnote', acc: null },
      { run: 'plain, with comma', kind: '-1e-3', acc: 1 },
    ];
    expect(toCsv(rows, ['run', 'kind', 'acc'])).toBe(
      ['run,kind,acc', `"'=HYPERLINK(""http://evil.example"")",svc,0.9`, `"'+cmd","'@SUM(A1)",-0.5`, `"'-2+3","'\rnote",`, `"plain, with comma",-1e-3,1`].join('\n') + '\n',
    );
  });
});
