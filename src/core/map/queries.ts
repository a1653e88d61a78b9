/** The map feature's table: `maps`, one stored 2-D layout per embedding set. */
import type { Db } from '../db/database';

/** One point of the map: its 2-D position and the sample it stands for. */
export interface MapPoint {
  x: number;
  y: number;
  label: number;
  sampleId: number;
  split: 'train' | 'test';
}

/** A set's stored map: how many points, the seed that picked them, when it was computed. */
export interface MapResult {
  setId: number;
  n: number;
  seed: number;
  createdAt: string;
  points: MapPoint[];
}

/** Stores a set's map, replacing the one it had. */
export function saveMap(db: Db, m: MapResult): void {
  db.prepare(`INSERT OR REPLACE INTO maps (set_id, n, seed, points, created_at) VALUES (?, ?, ?, ?, ?)`).run(
    m.setId,
    m.n,
    m.seed,
    JSON.stringify(m.points),
    m.createdAt,
  );
}

/** A set's stored map, or null when none was computed. */
export function getMap(db: Db, setId: number): MapResult | null {
  const r = db.prepare(`SELECT * FROM maps WHERE set_id = ?`).get(setId) as
    | { set_id: number; n: number; seed: number; points: string; created_at: string }
    | undefined;
  if (!r) return null;
  return { setId: r.set_id, n: r.n, seed: r.seed, createdAt: r.created_at, points: JSON.parse(r.points) as MapPoint[] };
}
