import { z } from 'zod';

/** The classifier kinds DINO Lab trains. */
export const CLASSIFIER_KINDS = ['mlp', 'keras', 'svc', 'logreg', 'knn'] as const;
/** One of CLASSIFIER_KINDS. */
export type ClassifierKind = (typeof CLASSIFIER_KINDS)[number];

/** The reference study's PyTorch MLP: 384->256 ReLU->classes, Adam 1e-3, batch 64, 25 epochs, best-epoch restore. */
export const mlpParams = z
  .object({
    hidden: z.number().int().min(1).max(8192).default(256),
    lr: z.number().positive().max(10).default(1e-3),
    batchSize: z.number().int().min(1).max(65536).default(64),
    epochs: z.number().int().min(1).max(10000).default(25),
    validationFraction: z.number().min(0).max(0.9).default(0.1),
    /**
     * 'validation' selects the best epoch on a seeded hold-out of the training split. 'test' reproduces the
     * study, which selected on the test set: the caller then passes the test set as fit's `validation`,
     * so the reported test accuracy is optimistically biased (test data leaks into model selection).
     */
    selectOn: z.enum(['validation', 'test']).default('validation'),
  })
  .strict();

/** TensorFlow.js layers Sequential Dense(256, relu) -> Dense(classes, softmax), Adam, sparse cross-entropy. */
export const kerasParams = z
  .object({
    hidden: z.number().int().min(1).max(8192).default(256),
    lr: z.number().positive().max(10).default(1e-3),
    batchSize: z.number().int().min(1).max(65536).default(32),
    epochs: z.number().int().min(1).max(10000).default(25),
    validationFraction: z.number().min(0).max(0.9).default(0.1),
  })
  .strict();

/** RBF SVC, libsvm-style (scikit-learn's SVC() defaults). */
export const svcParams = z
  .object({
    C: z.number().positive().default(1),
    /** 'scale' = 1 / (D * Var(X)) over all entries, as scikit-learn. */
    gamma: z.union([z.literal('scale'), z.number().positive()]).default('scale'),
    tol: z.number().positive().default(1e-3),
    cacheMb: z.number().min(1).max(65536).default(512),
    shrinking: z.boolean().default(true),
    probability: z.boolean().default(true),
    /** -1 = no limit (scikit-learn's max_iter=-1). */
    maxIter: z.number().int().min(-1).default(-1),
  })
  .strict();

/** The default logreg strength grid: C = 1e-4 .. 1e2, 13 log-spaced values (half decades). */
export const DEFAULT_C_GRID: readonly number[] = Array.from({ length: 13 }, (_, i) => Number((10 ** (-4 + i / 2)).toPrecision(6)));

/** Multinomial L2 logistic regression (DINOv2 linear probe): C chosen on a validation split, refit on all train data. */
export const logregParams = z
  .object({
    /** Inverse regularisation strengths (scikit-learn's C): objective C * sum(logloss) + 0.5 * ||W||^2. */
    cGrid: z.array(z.number().positive()).min(1).max(100).default([...DEFAULT_C_GRID]),
    maxIter: z.number().int().min(1).max(100000).default(500),
    validationFraction: z.number().min(0).max(0.9).default(0.1),
    standardize: z.boolean().default(true),
  })
  .strict();

/** DINO's weighted k-NN: cosine similarity, top-k votes weighted by exp(sim / T). */
export const knnParams = z
  .object({
    k: z.number().int().min(1).max(10000).default(20),
    temperature: z.number().positive().max(100).default(0.07),
  })
  .strict();

/** MLP params. */
export type MlpParams = z.infer<typeof mlpParams>;
/** Keras-style net params. */
export type KerasParams = z.infer<typeof kerasParams>;
/** SVC params. */
export type SvcParams = z.infer<typeof svcParams>;
/** Logistic regression params. */
export type LogregParams = z.infer<typeof logregParams>;
/** k-NN params. */
export type KnnParams = z.infer<typeof knnParams>;

/** Params type for each kind. */
export interface ClassifierParamsMap {
  mlp: MlpParams;
  keras: KerasParams;
  svc: SvcParams;
  logreg: LogregParams;
  knn: KnnParams;
}

/** The zod schema of each kind. */
export const classifierParamSchemas = {
  mlp: mlpParams,
  keras: kerasParams,
  svc: svcParams,
  logreg: logregParams,
  knn: knnParams,
} as const;

/** Is this string a classifier kind? */
export function isClassifierKind(s: string): s is ClassifierKind {
  return (CLASSIFIER_KINDS as readonly string[]).includes(s);
}

/** The documented defaults of a kind (they reproduce the reference study). */
export function defaultParams<K extends ClassifierKind>(kind: K): ClassifierParamsMap[K] {
  return classifierParamSchemas[kind].parse({}) as ClassifierParamsMap[K];
}

/** A params validation failure with a readable message (one line per problem). */
export class ParamsError extends Error {
  constructor(
    readonly kind: string,
    readonly issues: string[],
  ) {
    super(`Invalid ${kind} parameters: ${issues.join('; ')}`);
    this.name = 'ParamsError';
  }
}

/** Validates params for a kind, filling defaults; throws ParamsError with a readable message. */
export function parseParams<K extends ClassifierKind>(kind: K, obj: unknown): ClassifierParamsMap[K] {
  const schema = classifierParamSchemas[kind];
  if (!schema) throw new ParamsError(String(kind), [`unknown classifier kind (use one of ${CLASSIFIER_KINDS.join(', ')})`]);
  const r = schema.safeParse(obj ?? {});
  if (r.success) return r.data as ClassifierParamsMap[K];
  const issues = r.error.issues.map((i) => {
    const where = i.path.length ? i.path.join('.') : '(params)';
    return `${where}: ${i.message}`;
  });
  throw new ParamsError(kind, issues);
}

/** Documentation of one parameter for UI forms. */
export interface ParamDoc {
  label: string;
  description: string;
  min?: number;
  max?: number;
  /** Options of an enum-like parameter. */
  options?: readonly (string | number | boolean)[];
}

/** Labels, descriptions and bounds of every parameter, per kind. */
export const paramDocs: { [K in ClassifierKind]: { [F in keyof ClassifierParamsMap[K]]: ParamDoc } } = {
  mlp: {
    hidden: { label: 'Hidden units', description: 'Width of the ReLU hidden layer (study: 256).', min: 1, max: 8192 },
    lr: { label: 'Learning rate', description: 'Adam step size (study: 1e-3; betas 0.9/0.999, eps 1e-8).', min: 1e-6, max: 10 },
    batchSize: { label: 'Batch size', description: 'Mini-batch size (study: 64).', min: 1, max: 65536 },
    epochs: { label: 'Epochs', description: 'Passes over the training data (study: 25).', min: 1, max: 10000 },
    validationFraction: {
      label: 'Validation fraction',
      description: 'Seeded share of the training split held out to select the best epoch.',
      min: 0,
      max: 0.9,
    },
    selectOn: {
      label: 'Select best epoch on',
      description:
        "'validation' (default) uses the held-out part of train. 'test' selects on the test set as in the study: this leaks test data, so its test accuracy is optimistic.",
      options: ['validation', 'test'],
    },
  },
  keras: {
    hidden: { label: 'Hidden units', description: 'Width of Dense(relu) (study: 256).', min: 1, max: 8192 },
    lr: { label: 'Learning rate', description: 'Adam step size (Keras default 1e-3).', min: 1e-6, max: 10 },
    batchSize: { label: 'Batch size', description: 'Mini-batch size (Keras default 32).', min: 1, max: 65536 },
    epochs: { label: 'Epochs', description: 'Passes over the training data (study: 25).', min: 1, max: 10000 },
    validationFraction: {
      label: 'Validation fraction',
      description: 'Seeded share of the training split passed as validationData (val_loss / val_accuracy).',
      min: 0,
      max: 0.9,
    },
  },
  svc: {
    C: { label: 'C', description: 'Penalty of the soft margin (scikit-learn default 1).', min: 1e-6, max: 1e6 },
    gamma: {
      label: 'Gamma',
      description: "RBF width: 'scale' = 1 / (D x Var(X)) as scikit-learn, or a positive number.",
      options: ['scale'],
    },
    tol: { label: 'Tolerance', description: 'Stopping tolerance of the SMO solver (libsvm default 1e-3).', min: 1e-8, max: 1 },
    cacheMb: { label: 'Kernel cache (MB)', description: 'Memory for cached kernel rows.', min: 1, max: 65536 },
    shrinking: { label: 'Shrinking', description: 'libsvm shrinking heuristic (faster, same solution).', options: [true, false] },
    probability: {
      label: 'Probabilities',
      description: 'Fit Platt scaling so the drop-zone shows class probabilities.',
      options: [true, false],
    },
    maxIter: { label: 'Max iterations', description: 'SMO iteration cap per class pair; -1 = unlimited.', min: -1 },
  },
  logreg: {
    cGrid: {
      label: 'C grid',
      description: 'Inverse L2 strengths tried on the validation split (default 1e-4 .. 1e2, 13 values); the best is refit on all training data.',
      min: 1e-8,
      max: 1e8,
    },
    maxIter: { label: 'Max iterations', description: 'L-BFGS iterations per fit.', min: 1, max: 100000 },
    validationFraction: {
      label: 'Validation fraction',
      description: 'Seeded share of the training split used to choose C.',
      min: 0,
      max: 0.9,
    },
    standardize: { label: 'Standardise', description: 'Scale features to zero mean, unit variance (train statistics).', options: [true, false] },
  },
  knn: {
    k: { label: 'k', description: 'Neighbours that vote (DINO: 20).', min: 1, max: 10000 },
    temperature: { label: 'Temperature', description: 'Votes weigh exp(cosine / T) (DINO: 0.07).', min: 1e-4, max: 100 },
  },
};
