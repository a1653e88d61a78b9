import type { Job } from '../../../shared/contract';
import type { PageId } from './pages';

/** Where a finished job's outcome is seen: the page, the set to select there (if any) and the link's words. */
export interface ResultLink {
  page: PageId;
  setId: number | null;
  text: string;
}

/** The link a done job offers in the jobs drawer (the demo and other experiments: the Compare page of their dataset). */
export function resultLink(job: Job): ResultLink | null {
  if (job.status !== 'done' || !job.result) return null;
  switch (job.kind) {
    case 'experiment':
      return { page: 'compare', setId: job.result.sets[0] ?? null, text: 'Open Compare' };
    case 'embed':
      return job.result.status === 'done' ? { page: 'train', setId: job.result.setId, text: 'Train on it' } : null;
    case 'import':
    case 'download':
      return { page: 'datasets', setId: null, text: 'Show dataset' };
    case 'map':
      return { page: 'map', setId: job.result.setId, text: 'Open map' };
    default:
      return null;
  }
}
