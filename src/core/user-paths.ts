/**
 * File paths that arrive in calls (datasets.import, backbones.add, embeddings.export, runs.export).
 * From a local host (desktop, CLI, web host on loopback) a relative path resolves against the working
 * directory as before. From a remote client of the web host it resolves against the user's home and
 * must lie, symbolic links followed, under the home or the data directory — never the server's
 * working directory or anywhere else on the machine.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LabError } from './errors';

/** Who made a call: `remote` when it came over the network from another machine. */
export interface CallContext {
  remote?: boolean;
}

/** The real path of `p`, following links for the part that exists (the rest may not exist yet). */
function realOf(p: string): string {
  const rest: string[] = [];
  let cur = p;
  for (;;) {
    try {
      return path.join(fs.realpathSync(cur), ...rest.reverse());
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) return p;
      rest.push(path.basename(cur));
      cur = parent;
    }
  }
}

function inside(child: string, root: string): boolean {
  const rel = path.relative(root, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Resolves a path from a call for `ctx`; throws invalid_input when a remote client names a path outside its roots. */
export function resolveUserPath(p: string, ctx: CallContext, dataDir: string, home = os.homedir()): string {
  if (!ctx.remote) return path.resolve(p);
  const abs = path.resolve(home, p);
  const real = realOf(abs);
  const roots = [home, dataDir].map((r) => realOf(path.resolve(r)));
  if (!roots.some((r) => inside(real, r))) {
    throw new LabError('invalid_input', `${p}: a path from a remote client must lie under your home (${home}) or the data directory (${dataDir}).`);
  }
  return real;
}
