/** Thumbnails as data: URLs, the form every host can carry (IPC, HTTP JSON) without a second channel. */
import type { Db } from './db/database';
import { sampleThumbnail } from './datasets/queries';

export async function thumbDataUrl(db: Db, sampleId: number): Promise<string> {
  const t = await sampleThumbnail(db, sampleId);
  return `data:${t.mime};base64,${t.data.toString('base64')}`;
}
