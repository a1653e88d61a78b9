/**
 * Classifier kinds: the enum every call that names a kind validates against, and `classifiers.kinds`,
 * which describes each kind (text, tags, defaults, form fields) from its params schema in the engine, so
 * the UI and the CLI never keep their own copy of a kind's table.
 */
import { z } from 'zod';
import { empty, method } from './common';

/** The classifier kinds DINO Lab trains. */
export const CLASSIFIER_KINDS = ['mlp', 'keras', 'svc', 'logreg', 'knn'] as const;
/** One of CLASSIFIER_KINDS. */
export type ClassifierKind = (typeof CLASSIFIER_KINDS)[number];
export const classifierKind = z.enum(CLASSIFIER_KINDS);

/** Is this string a classifier kind? */
export function isClassifierKind(s: string): s is ClassifierKind {
  return (CLASSIFIER_KINDS as readonly string[]).includes(s);
}

/** How a parameter is edited: 'number-or-scale' takes a number or the word 'scale'; 'number-list' takes several numbers. */
export const paramFieldType = z.enum(['number', 'integer', 'boolean', 'select', 'number-or-scale', 'number-list']);
export type ParamFieldType = z.infer<typeof paramFieldType>;

/** One parameter of a kind, as its params schema defines it (for a number list the bounds apply to each value). */
export const paramField = z.object({
  key: z.string(),
  label: z.string(),
  description: z.string(),
  type: paramFieldType,
  min: z.number().optional(),
  max: z.number().optional(),
  /** The value must be greater than this (e.g. 0 for a positive number). */
  exclusiveMin: z.number().optional(),
  /** How many values a number list takes. */
  minItems: z.number().optional(),
  maxItems: z.number().optional(),
  /** The choices of a select, or the words a number-or-scale field also takes. */
  options: z.array(z.union([z.string(), z.number(), z.boolean()])).optional(),
});
export type ParamField = z.infer<typeof paramField>;

/** Facts about a kind that the engine and the UI act on. */
export const classifierTags = z.object({
  /** Trains in epochs and reports one log per epoch. */
  epochs: z.boolean(),
  /** Its saved model is a reference to its training set (k-NN). */
  keepsTrainingSetByReference: z.boolean(),
  /**
   * Where its work runs when a fitted model does not say more (a run records the backend that really ran):
   * 'onnxruntime' (the CPU provider; TensorFlow.js where onnxruntime-node is absent), 'tfjs' or 'js'.
   */
  engine: z.enum(['onnxruntime', 'tfjs', 'js']),
});

/** A classifier kind as the UI shows it. */
export const classifierKindInfo = z.object({
  kind: classifierKind,
  title: z.string(),
  tab: z.string(),
  blurb: z.string(),
  tags: classifierTags,
  /** Every parameter's default. */
  defaults: z.record(z.string(), z.unknown()),
  /** The parameters, in the schema's order. */
  fields: z.array(paramField),
});
export type ClassifierKindInfo = z.infer<typeof classifierKindInfo>;

export const classifiersApi = {
  'classifiers.kinds': method(empty, z.array(classifierKindInfo), 'Every classifier kind: its text, tags, defaults and parameter fields with their limits.'),
} as const;
