/**
 * Schema migrations, applied in order and recorded in `PRAGMA user_version`.
 * Never edit a migration that has shipped: append a new one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: stimulus sets, studies, sessions, trials.
  `
  CREATE TABLE stimulus_sets (
    name        TEXT PRIMARY KEY,
    modality    TEXT NOT NULL CHECK (modality IN ('image', 'audio')),
    digest      TEXT NOT NULL,              -- sha256 of the stored manifest JSON
    manifest    TEXT NOT NULL,              -- the validated manifest, with sha256 and media per item
    imported_at INTEGER NOT NULL            -- unix ms
  );

  -- Every file the server may serve, by content hash: stimuli, noise masks, generated sounds.
  CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    ext    TEXT NOT NULL,
    mime   TEXT NOT NULL
  );

  CREATE TABLE studies (
    id         TEXT PRIMARY KEY,
    set_name   TEXT NOT NULL REFERENCES stimulus_sets(name),
    config     TEXT NOT NULL,               -- the validated study config (JSON)
    status     TEXT NOT NULL CHECK (status IN ('draft', 'live', 'paused', 'closed')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );

  CREATE TABLE sessions (
    id                  TEXT PRIMARY KEY,   -- opaque random token held by the browser
    study_id            TEXT NOT NULL REFERENCES studies(id),
    prolific_pid        TEXT NOT NULL,      -- personal data: only the payments view reads it
    participant_id      TEXT NOT NULL,      -- keyed hash of the PID: what analysis and exports see
    prolific_study_id   TEXT,
    prolific_session_id TEXT,
    slot                INTEGER NOT NULL,   -- Latin-square slot
    state               TEXT NOT NULL CHECK (state IN ('started', 'completed', 'screened_out', 'abandoned')),
    preview             INTEGER NOT NULL DEFAULT 0,
    screening_passed    INTEGER,            -- NULL until the screening gate has been evaluated
    n_trials            INTEGER NOT NULL,
    user_agent          TEXT,
    started_at          INTEGER NOT NULL,
    last_activity_at    INTEGER NOT NULL,
    finished_at         INTEGER,
    UNIQUE (study_id, prolific_pid)
  );
  CREATE INDEX sessions_by_study_state ON sessions (study_id, state);

  -- The full trial plan, answers included (server side only). A table of its own: the plan is
  -- tens of KB, and SQLite rewrites a whole row on every update, so keeping it in sessions would
  -- copy it on every state change.
  CREATE TABLE session_plans (
    session_id TEXT PRIMARY KEY REFERENCES sessions(id),
    plan       TEXT NOT NULL
  );

  -- One row per answered trial. Condition columns are copied from the plan at save time so the
  -- table reads on its own (analysis, exports) even after a stimulus set is replaced.
  CREATE TABLE trials (
    session_id   TEXT NOT NULL REFERENCES sessions(id),
    trial_index  INTEGER NOT NULL,
    phase        TEXT NOT NULL CHECK (phase IN ('practice', 'screening', 'main', 'catch', 'headphone')),
    stimulus_id  TEXT NOT NULL,
    source_id    TEXT NOT NULL,
    category     TEXT NOT NULL,
    model        TEXT NOT NULL,             -- '' for natural stimuli
    layer        TEXT NOT NULL,             -- 'natural' for natural stimuli
    layer_index  INTEGER NOT NULL,          -- 0 for natural stimuli
    response     TEXT,
    correct      INTEGER NOT NULL CHECK (correct IN (0, 1)),
    rt_ms        REAL,
    data         TEXT NOT NULL,             -- the browser's record as sent (canonical JSON)
    received_at  INTEGER NOT NULL,
    -- A rowid table (rows are appended) with the key as its index: rows of ~0.5 KB are too wide
    -- for WITHOUT ROWID, whose inserts would land mid-tree and split pages.
    PRIMARY KEY (session_id, trial_index)
  );

  -- The tidy trial rows of docs/design.md §4, pseudonymous: the view analysis and exports read.
  CREATE VIEW trial_rows AS
    SELECT s.study_id, s.participant_id, t.session_id, s.state AS session_state, s.preview,
           t.phase, t.trial_index, t.stimulus_id, t.source_id, t.category, t.model, t.layer,
           t.layer_index, t.response, t.correct, t.rt_ms, t.received_at, t.data
      FROM trials t JOIN sessions s ON s.id = t.session_id;
  `,
  // 2: experimenter log-ins. The cookie holds a random value; only its sha256 is stored, so a
  // copy of the database does not hand out live log-ins. Deleting rows logs people out.
  `
  CREATE TABLE admin_sessions (
    id_hash    TEXT PRIMARY KEY,          -- sha256 (hex) of the cookie value
    created_at INTEGER NOT NULL,          -- unix ms
    expires_at INTEGER NOT NULL,          -- unix ms; absolute, not sliding
    user_agent TEXT
  ) WITHOUT ROWID;
  `,
  // 3: a natural stimulus shown in place of a metamer that failed the model-side checks (docs/design.md §5)
  // is stored as the natural trial it was, and says which condition it stood in for, so an analyst
  // can count it either way.
  `
  ALTER TABLE trials ADD COLUMN fallback_for TEXT;   -- 'model/layer', or NULL
  DROP VIEW trial_rows;
  CREATE VIEW trial_rows AS
    SELECT s.study_id, s.participant_id, t.session_id, s.state AS session_state, s.preview,
           t.phase, t.trial_index, t.stimulus_id, t.source_id, t.category, t.model, t.layer,
           t.layer_index, t.response, t.correct, t.rt_ms, t.received_at, t.data, t.fallback_for
      FROM trials t JOIN sessions s ON s.id = t.session_id;
  `,
  // 4: trials refused as too early for the protocol (server/pacing.ts), per session, for the
  // quality flags; and a one-row table /healthz writes to, to know the database takes writes.
  `
  ALTER TABLE sessions ADD COLUMN pacing_violations INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE health_checks (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at INTEGER NOT NULL
  );
  `,
  // 5: what each page load of a session reported about automation (docs/integrity.md), with the
  // User-Agent the server saw; a few rows per session at most (PAGE_REPORTS_PER_SESSION).
  `
  CREATE TABLE page_reports (
    session_id  TEXT NOT NULL REFERENCES sessions(id),
    seq         INTEGER NOT NULL,          -- 0, 1, … per session, in arrival order
    report      TEXT NOT NULL,             -- the PageReport as canonical JSON
    user_agent  TEXT,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (session_id, seq)
  );
  `,
  // 6: the Prolific closed loop (docs/prolific.md): why a session was abandoned, which Prolific
  // study a study is linked to, Prolific's last known status of each submission, webhook events
  // already applied, and the bonus ledger that keeps a bonus from being paid twice.
  `
  -- 'idle' (the abandonment timer: a late trial revives the session) or 'prolific_returned',
  -- 'prolific_timed_out', 'prolific_rejected' (Prolific ended the submission: it stays abandoned).
  ALTER TABLE sessions ADD COLUMN abandon_reason TEXT;
  UPDATE sessions SET abandon_reason = 'idle' WHERE state = 'abandoned';
  CREATE INDEX sessions_by_prolific_session ON sessions (prolific_session_id) WHERE prolific_session_id IS NOT NULL;

  CREATE TABLE prolific_links (
    study_id          TEXT PRIMARY KEY REFERENCES studies(id),
    prolific_study_id TEXT NOT NULL UNIQUE,
    linked_at         INTEGER NOT NULL,
    synced_at         INTEGER              -- the last complete listing of the study's submissions
  );

  CREATE TABLE prolific_submissions (
    submission_id TEXT PRIMARY KEY,        -- Prolific's submission id (the participant URL's SESSION_ID)
    study_id      TEXT NOT NULL REFERENCES studies(id),
    prolific_pid  TEXT NOT NULL,           -- personal data, like sessions.prolific_pid
    status        TEXT NOT NULL,           -- Prolific's status, e.g. 'AWAITING REVIEW', 'RETURNED'
    status_at     INTEGER NOT NULL,        -- when Prolific said so (webhook timestamp or listing time), unix ms
    started_at    INTEGER,
    completed_at  INTEGER
  );
  CREATE INDEX prolific_submissions_by_study ON prolific_submissions (study_id, prolific_pid);

  -- Prolific delivers each webhook event at least once, with the same X-Event-ID on every retry.
  CREATE TABLE prolific_webhook_events (
    event_id       TEXT PRIMARY KEY,
    signature_hash TEXT NOT NULL UNIQUE,   -- sha256 of the signature: a replayed body under a new event id
    received_at    INTEGER NOT NULL,
    outcome        TEXT NOT NULL
  );

  -- One Prolific bulk bonus (set up, then paid) per run; its items are the participants' bonuses.
  CREATE TABLE prolific_bonus_runs (
    id         INTEGER PRIMARY KEY,
    study_id   TEXT NOT NULL REFERENCES studies(id),
    batch      TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('intent', 'set_up', 'paying', 'paid')),
    setup_id   TEXT,                       -- Prolific's bulk bonus payment id, once set up
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE prolific_bonus_items (
    study_id      TEXT NOT NULL,
    batch         TEXT NOT NULL,
    session_id    TEXT NOT NULL REFERENCES sessions(id),
    run_id        INTEGER NOT NULL REFERENCES prolific_bonus_runs(id),
    submission_id TEXT NOT NULL,
    amount_cents  INTEGER NOT NULL CHECK (amount_cents > 0),
    -- The ledger's promise: one bonus per participant per batch, whatever happens to the runs.
    PRIMARY KEY (study_id, batch, session_id)
  );
  `,
  // 7: participants the device check turned away before any session existed (the participant
  // page's device-gate.ts reports them): once per (study, pseudonymous participant), the first
  // reason standing. Never the raw Prolific ID.
  `
  CREATE TABLE turn_aways (
    study_id       TEXT NOT NULL REFERENCES studies(id),
    participant_id TEXT NOT NULL,              -- keyed hash of the PID, as in sessions
    reason         TEXT NOT NULL CHECK (reason IN ('device', 'screen', 'pointer', 'audio', 'window')),
    at             INTEGER NOT NULL,           -- unix ms of the first report
    PRIMARY KEY (study_id, participant_id)
  ) WITHOUT ROWID;
  -- The dashboard asks, per turned-away participant, whether they came back on another device.
  CREATE INDEX sessions_by_participant ON sessions (study_id, participant_id);
  `,
];
