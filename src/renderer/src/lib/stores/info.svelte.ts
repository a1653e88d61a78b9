import type { Info } from '../../../../shared/contract';
import { client } from '../transport';

/** The engine's facts for the status bar. */
class InfoStore {
  info = $state<Info | null>(null);
  error = $state<string | null>(null);

  async load(): Promise<void> {
    try {
      this.info = await client.call('info', {});
      this.error = null;
    } catch (err) {
      this.error = (err as Error).message;
    }
  }
}

export const infoStore = new InfoStore();
