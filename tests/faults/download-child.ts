/**
 * Child process of the download kill test: downloads argv[2] to argv[3] with downloadFile (sha256
 * argv[4]) and prints "progress <bytes>" lines, so the parent can SIGKILL it part way.
 */
import { downloadFile } from '../../src/core/net/download';

const [url, dest, sha256] = process.argv.slice(2) as [string, string, string];
const r = await downloadFile(url, dest, { sha256, onProgress: (p) => process.stdout.write(`progress ${p.done}\n`) });
process.stdout.write(`done ${r.bytes}\n`);
