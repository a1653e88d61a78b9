import type { ClassifierKindInfo } from '../../../../shared/contract';
import { errMsg } from '../errors';
import { client } from '../transport';

/** The classifier kinds as the engine describes them (tabs, texts, tags, parameter fields); loaded once. */
class KindsStore {
  list = $state<ClassifierKindInfo[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);
  private pending: Promise<void> | null = null;

  /** Loads the kinds unless they are loaded or loading; after a failure, the next call tries again. */
  ensure(): Promise<void> {
    this.pending ??= this.fetch();
    return this.pending;
  }

  /** The description of a kind, if the engine knows it. */
  byKind(kind: string | undefined): ClassifierKindInfo | undefined {
    return this.list.find((k) => k.kind === kind);
  }

  private async fetch(): Promise<void> {
    try {
      this.list = await client.call('classifiers.kinds', {});
      this.error = null;
      this.loaded = true;
    } catch (err) {
      this.error = errMsg(err);
      this.pending = null;
    }
  }
}

export const kindsStore = new KindsStore();
