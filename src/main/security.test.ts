import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../tests/helpers';
import { RENDERER_CSP, secureWebPreferences } from './window-options';

describe('Electron security settings', () => {
  it('the window is created with isolation, sandbox and no Node integration', () => {
    const p = secureWebPreferences('/x/preload.cjs');
    expect(p).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, webviewTag: false });
  });

  it('the CSP allows no eval and no remote scripts', () => {
    expect(RENDERER_CSP).toMatch(/script-src 'self'(;|$)/);
    expect(RENDERER_CSP).not.toMatch(/unsafe-eval/);
    expect(RENDERER_CSP).toMatch(/object-src 'none'/);
  });

  it('main denies new windows and navigation, checks IPC senders, and exposes only contract channels', () => {
    const main = fs.readFileSync(path.join(projectRoot, 'src/main/index.ts'), 'utf8');
    expect(main).toMatch(/setWindowOpenHandler\(\(\) => \(\{ action: 'deny' \}\)\)/);
    expect(main).toMatch(/will-navigate', \(e\) => e\.preventDefault\(\)/);
    expect(main).toMatch(/secureWebPreferences\(/);
    expect(main).toMatch(/if \(!senderAllowed\(event\)\)/);
    expect(main).toMatch(/for \(const name of methodNames\)/);
    const preload = fs.readFileSync(path.join(projectRoot, 'src/preload/index.ts'), 'utf8');
    expect(preload).toMatch(/exposeInMainWorld\('lab', api\)/);
    expect(preload).toMatch(/new Set<string>\(methodNames\)/);
    expect(preload.match(/exposeInMainWorld/g)).toHaveLength(1);
  });

  it('the built main bundle carries the same settings', () => {
    const bundle = path.join(projectRoot, 'out/main/index.js');
    if (!fs.existsSync(bundle)) throw new Error('out/main/index.js missing: run npm run build before the tests');
    const out = fs.readFileSync(bundle, 'utf8') + fs.readdirSync(path.join(projectRoot, 'out/main/chunks')).map((f) => fs.readFileSync(path.join(projectRoot, 'out/main/chunks', f), 'utf8')).join('\n');
    expect(out).toMatch(/contextIsolation: true/);
    expect(out).toMatch(/sandbox: true/);
    expect(out).toMatch(/nodeIntegration: false/);
    expect(out).toMatch(/action: "deny"|action: 'deny'/);
  });
});
