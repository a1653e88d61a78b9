/**
 * Entry point of the short-lived process that loads and test-runs an ONNX file for backbones.add (see
 * check.ts): a huge or hostile model stalls or crashes this process, never the host.
 */
import { toLabError } from '../errors';
import { inspectOnnx } from './inspect';

process.once('message', (m: { file: string }) => {
  inspectOnnx(m.file)
    .then((info) => ({ ok: true as const, info }))
    .catch((err: unknown) => {
      const e = toLabError(err);
      return { ok: false as const, error: { code: e.code, message: e.message, details: e.details } };
    })
    .then((reply) => process.send!(reply, () => process.exit(0)));
});
