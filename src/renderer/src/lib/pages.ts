/** The pages of the app, in navigation order. */
/** `short` is the page's mark in the narrow navigation rail (below ~1000 px). */
export const pages = [
  { id: 'datasets', title: 'Datasets', short: 'DS' },
  { id: 'backbones', title: 'Backbones', short: 'BB' },
  { id: 'embeddings', title: 'Embeddings', short: 'EM' },
  { id: 'train', title: 'Train', short: 'TR' },
  { id: 'compare', title: 'Compare', short: 'CO' },
  { id: 'try', title: 'Try an image', short: 'TRY' },
  { id: 'map', title: 'Embedding map', short: 'MAP' },
  { id: 'labels', title: 'Labels needed', short: 'LBL' },
  { id: 'ood', title: 'OOD', short: 'OOD' },
] as const;

export type PageId = (typeof pages)[number]['id'];

export function pageFromHash(hash: string): PageId {
  const id = hash.replace(/^#\/?/, '');
  return (pages.find((p) => p.id === id)?.id ?? 'datasets') as PageId;
}
