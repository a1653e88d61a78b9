/** Number formats used everywhere in the UI: percentages with one decimal, times with units. */
export function pct(x: number | null | undefined): string {
  return x === null || x === undefined || Number.isNaN(x) ? '–' : `${(x * 100).toFixed(1)} %`;
}

export function duration(sec: number | null | undefined): string {
  if (sec === null || sec === undefined || !Number.isFinite(sec)) return '–';
  if (sec < 1) return `${Math.round(sec * 1000)} ms`;
  if (sec < 60) return `${sec.toFixed(1)} s`;
  // Round first, so that 119.6 s reads "2 min 0 s", not "1 min 60 s".
  const whole = Math.round(sec);
  const m = Math.floor(whole / 60);
  const s = whole % 60;
  if (m < 60) return `${m} min ${s} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function rate(x: number | null | undefined, unit = '/s'): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  return `${x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1)} ${unit}`;
}

/** Sizes in decimal units (1 MB = 10^6 bytes), as model hubs and download pages state them. */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '–';
  if (n < 1e3) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}

export function int(n: number | null | undefined): string {
  return n === null || n === undefined ? '–' : n.toLocaleString('en-US');
}

/** "ETA …" once a job has a rate (some work done, over some time); null before that, never "ETA 0 ms" at its start. */
export function eta(p: { ratePerSec: number | null; etaSec: number | null; done?: number } | undefined): string | null {
  if (!p || !p.ratePerSec || p.ratePerSec <= 0 || p.etaSec === null || !Number.isFinite(p.etaSec)) return null;
  if (p.done !== undefined && p.done <= 0) return null;
  return `ETA ${duration(p.etaSec)}`;
}

/** A job's state in words while it waits: "queued (2 ahead)". */
export function queuedText(ahead: number | null | undefined): string {
  return ahead === null || ahead === undefined ? 'queued' : `queued (${ahead} ahead)`;
}

/** The local time of day of an ISO timestamp (HH:MM:SS), with the date when it is not today. */
export function clock(iso: string | null | undefined, now = new Date()): string {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '–';
  const time = d.toLocaleTimeString('en-GB', { hour12: false });
  return d.toDateString() === now.toDateString() ? time : `${d.toISOString().slice(0, 10)} ${time}`;
}

/** Seconds from a job's start to its end (or to now while it runs); null before it started. */
export function jobSeconds(job: { startedAt: string | null; finishedAt: string | null }, now = Date.now()): number | null {
  if (!job.startedAt) return null;
  const end = job.finishedAt ? Date.parse(job.finishedAt) : now;
  return Math.max(0, (end - Date.parse(job.startedAt)) / 1000);
}
