/** The embedding set the Train, Compare, Try and Map pages work on (shared, remembered across reloads). */
const KEY = 'dinolab.setId';

class SelectionStore {
  setId = $state<number | null>(readSaved());

  select(id: number | null): void {
    this.setId = id;
    try {
      if (id === null) localStorage.removeItem(KEY);
      else localStorage.setItem(KEY, String(id));
    } catch {
      /* storage may be unavailable; the choice then lasts for this page only */
    }
  }
}

function readSaved(): number | null {
  try {
    const n = Number(localStorage.getItem(KEY));
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

export const selection = new SelectionStore();
