/**
 * How the dense nets' onnxruntime training sessions (mlp-onnx.ts) are set up: their session options
 * (subnormals flushed), the thread counts the trainer chooses between, and the row chunks of layer 1's state
 * that go with each thread count.
 */
import os from 'node:os';

/**
 * onnxruntime's session options for the training and forward sessions. set_denormal_as_zero (flush-to-zero,
 * denormals-are-zero): once keras's problem is solved, its clipped cross-entropy gives most rows exactly zero
 * gradient, so Adam's first moments decay by b1 = 0.9 a step into float32's subnormal range and stick there
 * (0.9 x 1.4e-45 rounds back to 1.4e-45); every step's Adam passes over layer 1 then take the CPU's slow
 * subnormal path. Measured on keras at 50,000 x 3,072 (quiet machine): epochs 1-17 at 4.4 s, then 9.3, 27
 * and 34 s from epoch 18 without the flag; 4.3-4.5 s throughout with it. Flushing changes only values below
 * 1.2e-38. onnxruntime applies it to a session's intra-op pool threads, and to the calling thread only from
 * the first session the process creates (std::call_once in InferenceSession::Initialize): in a training job's
 * own process these sessions are the first; where another session came first with one thread, it is not in
 * effect (slower, same results to within subnormals). Side effect: the calling thread keeps the flag after
 * training, so later float maths on it in the same process (JavaScript, tfjs-wasm, other sessions) also
 * flushes subnormals: in the demo experiment, logreg's stored probabilities below 1.2e-38 become 0 (its
 * metrics and accuracy are unchanged). An in-graph flush of Adam's first moments would avoid the leak.
 */
export function sessionOptions(threads: number): import('onnxruntime-node').InferenceSession.SessionOptions {
  return {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    extra: { session: { set_denormal_as_zero: '1' } },
  };
}

/** Most intra-op threads a training session gets (batch-64 products stop scaling there). */
const MAX_THREADS = 4;

/** Layer 1 floats from which a second, multi-threaded way to run the steps is offered (384 x 256 is 98,560). */
const MULTI_THREAD_MIN_FLOATS = 65_536;

/**
 * The thread counts the trainer measures and chooses between for a net with layer 1 of (D+1) x H: one, and
 * every core up to MAX_THREADS, when there is more than one core and layer 1 is big enough to split. On this
 * 2-core machine, quiet, two threads took 0.35 ms a step at 384 x 256 against 0.49 for one, and 2.0 against
 * 3.6 at 3,072 x 256 (bench/results/mlp-step.json); beside two busy processes 0.69 against 0.55 and 7.8
 * against 5.2 (mlp-step-busy2.json). Hence both, chosen by measurement (fastest.ts).
 */
export function threadChoices(D: number, H: number): number[] {
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  const many = Math.min(MAX_THREADS, cores);
  return many > 1 && (D + 1) * H >= MULTI_THREAD_MIN_FLOATS ? [1, many] : [1];
}

/**
 * MLAS's K stride: it sums a product over K in blocks of 128 rows when a thread's share has 128 or more
 * columns (in larger blocks for fewer), so a product split over K at multiples of 128 rows usually sums in
 * the very order of the whole one; the trainer checks that it does (mlp-onnx.ts, variantsAgree).
 */
const K_STRIDE = 128;

/**
 * Floats per chunk of layer 1's state for a thread count: about 32,768 (128 KB a tensor, in one core's L2)
 * on one thread; 131,072 a thread on more, since onnxruntime runs an element-wise op on one thread below
 * about 100,000 floats (at 3,072 x 256 on 2 threads: 3.2 ms a step with 32,768-float chunks, 3.0 with 65,536,
 * 2.1 with 262,144, 2.35 unchunked). Rounded to whole K strides of rows: MLAS sums a product over K in blocks
 * of 128 rows, so the chunked forward product (a sum of per-chunk products) then has the same bits as the
 * whole product, and every chunking and thread count trains to the same bits (mlp.test.ts, at 256 columns),
 * which lets the trainer switch between them.
 */
export function adamChunkFloats(threads: number, H: number): number {
  const floats = threads <= 1 ? 32_768 : 131_072 * threads;
  return Math.max(1, Math.floor(floats / H / K_STRIDE)) * K_STRIDE * H;
}
