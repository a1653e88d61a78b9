/** The pages of the app, in navigation order. */
export const pages = [
  { id: 'datasets', title: 'Datasets' },
  { id: 'backbones', title: 'Backbones' },
  { id: 'embeddings', title: 'Embeddings' },
  { id: 'train', title: 'Train' },
  { id: 'compare', title: 'Compare' },
  { id: 'try', title: 'Try an image' },
  { id: 'map', title: 'Embedding map' },
  { id: 'labels', title: 'Labels needed' },
  { id: 'ood', title: 'OOD' },
] as const;

export type PageId = (typeof pages)[number]['id'];

export function pageFromHash(hash: string): PageId {
  const id = hash.replace(/^#\/?/, '');
  return (pages.find((p) => p.id === id)?.id ?? 'datasets') as PageId;
}
