import { onMount, untrack } from 'svelte';
import type { EmbeddingSet } from '../../../../shared/contract';
import { datasetsStore } from './datasets.svelte';
import { setsStore } from './sets.svelte';

/**
 * For the pages that work on one embedding set (Train, Compare, Try, Map): refreshes datasets and sets
 * when the page mounts, and calls `load` with the current set's id (the selected finished set, else the
 * newest) each time that id changes. Call it while the component initialises.
 */
export function followCurrentSet(load: (setId: number) => void): { readonly set: EmbeddingSet | undefined; readonly classes: string[] } {
  onMount(() => {
    void datasetsStore.refresh();
    void setsStore.refresh();
  });
  const set = $derived(setsStore.current());
  const setId = $derived(set?.id ?? null);
  const classes = $derived(set ? (datasetsStore.byId(set.datasetId)?.classes ?? []) : []);
  $effect(() => {
    const id = setId;
    if (id !== null) untrack(() => load(id));
  });
  return {
    get set() {
      return set;
    },
    get classes() {
      return classes;
    },
  };
}
