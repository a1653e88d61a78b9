/**
 * Numbered migrations, applied in order at start inside one transaction each; `PRAGMA user_version`
 * records the last one applied. Never edit a released migration: add the next number.
 *
 * Conventions: times are ISO-8601 text; JSON columns hold JSON text; vectors are float32 BLOBs;
 * `samples.pixels` holds 32x32 RGB images as 3,072 bytes HWC (interleaved RGB, row-major).
 */
export const migrations: { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  params TEXT NOT NULL DEFAULT '{}',
  status TEXT NOT NULL CHECK (status IN ('queued','running','done','failed','cancelled','interrupted')),
  phase TEXT NOT NULL DEFAULT '',
  done INTEGER NOT NULL DEFAULT 0,
  total INTEGER NOT NULL DEFAULT 0,
  error TEXT,
  result TEXT,
  pid INTEGER,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT
);
CREATE INDEX jobs_status ON jobs(status);

CREATE TABLE datasets (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  classes TEXT NOT NULL,
  source TEXT NOT NULL DEFAULT '',
  root TEXT,
  fingerprint TEXT,
  meta TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL
);

CREATE TABLE samples (
  id INTEGER PRIMARY KEY,
  dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  split TEXT NOT NULL CHECK (split IN ('train','test')),
  label INTEGER NOT NULL,
  source TEXT NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  pixels BLOB,
  path TEXT,
  sha256 TEXT,
  thumb BLOB
);
CREATE INDEX samples_dataset ON samples(dataset_id, split, label);

CREATE TABLE backbones (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ('onnx','raw-pixels','random-vit')),
  file TEXT,
  sha256 TEXT,
  size_bytes INTEGER NOT NULL DEFAULT 0,
  input_name TEXT,
  output_name TEXT,
  output_kind TEXT,
  dim INTEGER NOT NULL,
  precision TEXT NOT NULL DEFAULT 'float32',
  image_size INTEGER NOT NULL DEFAULT 224,
  meta TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL
);

CREATE TABLE embedding_sets (
  id INTEGER PRIMARY KEY,
  dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
  backbone_id INTEGER NOT NULL REFERENCES backbones(id) ON DELETE CASCADE,
  preset TEXT NOT NULL,
  provider TEXT,
  batch_size INTEGER,
  dim INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending','running','partial','done','failed')),
  images_per_sec REAL,
  seconds REAL,
  error TEXT,
  notice TEXT,
  created_at TEXT NOT NULL,
  UNIQUE (dataset_id, backbone_id, preset)
);

-- A rowid table: WITHOUT ROWID packs 1.5 KB rows badly (2.7x the file size, measured in bench/sqlite).
CREATE TABLE embeddings (
  id INTEGER PRIMARY KEY,
  set_id INTEGER NOT NULL REFERENCES embedding_sets(id) ON DELETE CASCADE,
  sample_id INTEGER NOT NULL REFERENCES samples(id) ON DELETE CASCADE,
  vector BLOB NOT NULL,
  UNIQUE (set_id, sample_id)
);

CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  set_id INTEGER NOT NULL REFERENCES embedding_sets(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  params TEXT NOT NULL,
  seed INTEGER NOT NULL,
  fingerprint TEXT,
  backend TEXT,
  status TEXT NOT NULL CHECK (status IN ('queued','running','done','failed','cancelled','interrupted')),
  error TEXT,
  fit_seconds REAL,
  predict_rows_per_sec REAL,
  model_bytes INTEGER,
  job_id TEXT,
  created_at TEXT NOT NULL,
  finished_at TEXT
);
CREATE INDEX runs_set ON runs(set_id);

CREATE TABLE epochs (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  epoch INTEGER NOT NULL,
  logs TEXT NOT NULL,
  PRIMARY KEY (run_id, epoch)
);

CREATE TABLE metrics (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  split TEXT NOT NULL,
  metrics TEXT NOT NULL,
  PRIMARY KEY (run_id, split)
);

CREATE TABLE predictions (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  sample_id INTEGER NOT NULL,
  predicted INTEGER NOT NULL,
  proba BLOB NOT NULL,
  PRIMARY KEY (run_id, sample_id)
) WITHOUT ROWID;

CREATE TABLE artifacts (
  run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
  format TEXT NOT NULL,
  data BLOB NOT NULL
);

CREATE TABLE probes (
  id INTEGER PRIMARY KEY,
  set_id INTEGER NOT NULL REFERENCES embedding_sets(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  thumb BLOB,
  embedding BLOB,
  results TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL
);
`,
  },
  {
    version: 2,
    name: 'embedding maps',
    sql: `
CREATE TABLE maps (
  set_id INTEGER PRIMARY KEY REFERENCES embedding_sets(id) ON DELETE CASCADE,
  n INTEGER NOT NULL,
  seed INTEGER NOT NULL,
  points TEXT NOT NULL,
  created_at TEXT NOT NULL
);
`,
  },
  {
    version: 3,
    name: 'job owners and heartbeats',
    // A job belongs to the host process that runs it; that host refreshes heartbeat_at while it lives, so
    // another host (a CLI call on the same file) can tell a live job from one whose host died.
    sql: `
ALTER TABLE jobs ADD COLUMN owner_pid INTEGER;
ALTER TABLE jobs ADD COLUMN heartbeat_at INTEGER;
`,
  },
  {
    version: 4,
    name: 'where an embedding set was preprocessed',
    // 'graph' (inside the model, on its device) or 'js'; NULL for sets embedded before this column existed.
    sql: `
ALTER TABLE embedding_sets ADD COLUMN preprocessing TEXT;
`,
  },
  {
    version: 5,
    name: 'models stored as binary arrays',
    // A run's artifact in format 'bin1' is its JSON header (artifacts.data) plus its arrays here, each split
    // into chunks (SQLite refuses a value over 1 GB). Artifacts in format 'json' (base64 text, written
    // before this version) stay as they are and still load. train_metric_rows: the rows its train-split metrics
    // were measured on (a seeded subsample of at most 10,000; NULL for runs before this version);
    // max_train_rows: the user's cap on training rows (a seeded subsample), NULL when uncapped.
    sql: `
CREATE TABLE artifact_chunks (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  array_idx INTEGER NOT NULL,
  chunk_idx INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (run_id, array_idx, chunk_idx)
);
ALTER TABLE runs ADD COLUMN train_metric_rows INTEGER;
ALTER TABLE runs ADD COLUMN max_train_rows INTEGER;
`,
  },
  {
    version: 6,
    name: 'run names, notes, groups and provenance',
    // name/notes: the user's; sweep_id: the group (a label sweep) a run was made by, NULL for ordinary runs;
    // started_at: when training began; provenance: JSON snapshot of dataset, backbone, set and app version
    // taken when training began (the backbone file or the dataset may change or go later).
    sql: `
ALTER TABLE runs ADD COLUMN name TEXT;
ALTER TABLE runs ADD COLUMN notes TEXT;
ALTER TABLE runs ADD COLUMN sweep_id INTEGER;
ALTER TABLE runs ADD COLUMN started_at TEXT;
ALTER TABLE runs ADD COLUMN provenance TEXT;
`,
  },
  {
    version: 9,
    name: 'label-efficiency sweeps',
    // A sweep trains every kind on seeded stratified subsets of a set's training split (sizes x repeats);
    // its runs are ordinary runs with runs.sweep_id set, and sweep_runs says which cell each run fills
    // (so a resumed sweep redoes nothing that finished). sizes: JSON {mode: 'fraction'|'per_class', values}.
    sql: `
CREATE TABLE sweeps (
  id INTEGER PRIMARY KEY,
  set_id INTEGER NOT NULL REFERENCES embedding_sets(id) ON DELETE CASCADE,
  kinds TEXT NOT NULL,
  sizes TEXT NOT NULL,
  repeats INTEGER NOT NULL,
  seed INTEGER NOT NULL,
  status TEXT NOT NULL,
  job_id TEXT,
  error TEXT,
  created_at TEXT NOT NULL
);
CREATE TABLE sweep_runs (
  sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
  size_index INTEGER NOT NULL,
  repeat INTEGER NOT NULL,
  kind TEXT NOT NULL,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  train_rows INTEGER NOT NULL,
  min_per_class INTEGER NOT NULL,
  note TEXT,
  PRIMARY KEY (sweep_id, size_index, repeat, kind)
);
`,
  },
];
