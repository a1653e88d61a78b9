import { errMsg } from '../errors';
import { latestOnly } from '../latest';

/**
 * What the list stores (datasets, embedding sets, tried images) share: the list with its load state and
 * error, and an error per item for actions such as rename or delete.
 */
export abstract class ListStore<T> {
  list = $state<T[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);
  /** A failed item action's message, per item id. */
  itemErrors = $state<Record<number, string>>({});
  private guard = latestOnly();

  /** Replaces the list with what `fetch` returns, unless a newer fetch started meanwhile. */
  protected async fetchList(fetch: () => Promise<T[]>): Promise<void> {
    try {
      const ok = this.guard();
      const list = await fetch();
      if (!ok()) return;
      this.list = list;
      this.error = null;
    } catch (err) {
      this.error = errMsg(err);
    } finally {
      this.loaded = true;
    }
  }

  /** Runs an action on one item: its error is kept under the item's id, a success clears it. */
  protected async itemAction(id: number, action: () => Promise<unknown>): Promise<boolean> {
    try {
      await action();
      delete this.itemErrors[id];
      return true;
    } catch (err) {
      this.itemErrors[id] = errMsg(err);
      return false;
    }
  }
}
