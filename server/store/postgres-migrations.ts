/**
 * The PostgreSQL schema: entry N here is entry N of `migrations.ts` (SQLite) in PostgreSQL's
 * dialect, with the same tables, columns and meanings, so that `metamer db copy` moves rows as they
 * are and one set of queries reads both. A change to the schema is appended to both lists at the
 * same number (test/api/postgres-schema.test.ts compares them). Never edit a shipped migration.
 *
 * Types mirror SQLite's storage: unix-ms times and counts BIGINT (read back as numbers, see
 * postgres-pool.ts), flags INTEGER 0/1 as in SQLite (so rows and queries read alike), JSON as TEXT
 * (stored and compared as the exact text the server wrote: the trial idempotency key is that text).
 */
export const POSTGRES_MIGRATIONS: readonly string[] = [
  // 1: stimulus sets, studies, sessions, trials; and (PostgreSQL only) the settings several
  // instances must agree on.
  `
  CREATE TABLE stimulus_sets (
    name        TEXT PRIMARY KEY,
    modality    TEXT NOT NULL CHECK (modality IN ('image', 'audio')),
    digest      TEXT NOT NULL,
    manifest    TEXT NOT NULL,
    imported_at BIGINT NOT NULL
  );

  CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    ext    TEXT NOT NULL,
    mime   TEXT NOT NULL
  );

  CREATE TABLE studies (
    id         TEXT PRIMARY KEY,
    set_name   TEXT NOT NULL REFERENCES stimulus_sets(name),
    config     TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('draft', 'live', 'paused', 'closed')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  );

  CREATE TABLE sessions (
    id                  TEXT PRIMARY KEY,
    study_id            TEXT NOT NULL REFERENCES studies(id),
    prolific_pid        TEXT NOT NULL,
    participant_id      TEXT NOT NULL,
    prolific_study_id   TEXT,
    prolific_session_id TEXT,
    slot                INTEGER NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('started', 'completed', 'screened_out', 'abandoned')),
    preview             INTEGER NOT NULL DEFAULT 0,
    screening_passed    INTEGER,
    n_trials            INTEGER NOT NULL,
    user_agent          TEXT,
    started_at          BIGINT NOT NULL,
    last_activity_at    BIGINT NOT NULL,
    finished_at         BIGINT,
    UNIQUE (study_id, prolific_pid)
  );
  CREATE INDEX sessions_by_study_state ON sessions (study_id, state);

  CREATE TABLE session_plans (
    session_id TEXT PRIMARY KEY REFERENCES sessions(id),
    plan       TEXT NOT NULL
  );

  CREATE TABLE trials (
    session_id   TEXT NOT NULL REFERENCES sessions(id),
    trial_index  INTEGER NOT NULL,
    phase        TEXT NOT NULL CHECK (phase IN ('practice', 'screening', 'main', 'catch', 'headphone')),
    stimulus_id  TEXT NOT NULL,
    source_id    TEXT NOT NULL,
    category     TEXT NOT NULL,
    model        TEXT NOT NULL,
    layer        TEXT NOT NULL,
    layer_index  INTEGER NOT NULL,
    response     TEXT,
    correct      INTEGER NOT NULL CHECK (correct IN (0, 1)),
    rt_ms        DOUBLE PRECISION,
    data         TEXT NOT NULL,
    received_at  BIGINT NOT NULL,
    PRIMARY KEY (session_id, trial_index)
  );

  CREATE VIEW trial_rows AS
    SELECT s.study_id, s.participant_id, t.session_id, s.state AS session_state, s.preview,
           t.phase, t.trial_index, t.stimulus_id, t.source_id, t.category, t.model, t.layer,
           t.layer_index, t.response, t.correct, t.rt_ms, t.received_at, t.data
      FROM trials t JOIN sessions s ON s.id = t.session_id;

  -- A value every instance must share, written once by the first (the participant-id key's
  -- fingerprint: an HMAC of a fixed text, which says nothing about the key).
  CREATE TABLE instance_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  // 2: experimenter log-ins (only the sha256 of the cookie value is stored).
  `
  CREATE TABLE admin_sessions (
    id_hash    TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    user_agent TEXT
  );
  `,
  // 3: the condition a natural stimulus stood in for.
  `
  ALTER TABLE trials ADD COLUMN fallback_for TEXT;
  DROP VIEW trial_rows;
  CREATE VIEW trial_rows AS
    SELECT s.study_id, s.participant_id, t.session_id, s.state AS session_state, s.preview,
           t.phase, t.trial_index, t.stimulus_id, t.source_id, t.category, t.model, t.layer,
           t.layer_index, t.response, t.correct, t.rt_ms, t.received_at, t.data, t.fallback_for
      FROM trials t JOIN sessions s ON s.id = t.session_id;
  `,
  // 4: trials refused as too early for the protocol, per session; the row /healthz writes to.
  `
  ALTER TABLE sessions ADD COLUMN pacing_violations INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE health_checks (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at BIGINT NOT NULL
  );
  `,
  // 5: each page load's report of automation signs, with the User-Agent the server saw.
  `
  CREATE TABLE page_reports (
    session_id  TEXT NOT NULL REFERENCES sessions(id),
    seq         INTEGER NOT NULL,
    report      TEXT NOT NULL,
    user_agent  TEXT,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (session_id, seq)
  );
  `,
  // 6: the Prolific closed loop (docs/prolific.md): abandonment reasons, study links, Prolific's
  // last known submission statuses, webhook events applied, the bonus ledger.
  `
  ALTER TABLE sessions ADD COLUMN abandon_reason TEXT;
  UPDATE sessions SET abandon_reason = 'idle' WHERE state = 'abandoned';
  CREATE INDEX sessions_by_prolific_session ON sessions (prolific_session_id) WHERE prolific_session_id IS NOT NULL;

  CREATE TABLE prolific_links (
    study_id          TEXT PRIMARY KEY REFERENCES studies(id),
    prolific_study_id TEXT NOT NULL UNIQUE,
    linked_at         BIGINT NOT NULL,
    synced_at         BIGINT
  );

  CREATE TABLE prolific_submissions (
    submission_id TEXT PRIMARY KEY,
    study_id      TEXT NOT NULL REFERENCES studies(id),
    prolific_pid  TEXT NOT NULL,
    status        TEXT NOT NULL,
    status_at     BIGINT NOT NULL,
    started_at    BIGINT,
    completed_at  BIGINT
  );
  CREATE INDEX prolific_submissions_by_study ON prolific_submissions (study_id, prolific_pid);

  CREATE TABLE prolific_webhook_events (
    event_id       TEXT PRIMARY KEY,
    signature_hash TEXT NOT NULL UNIQUE,
    received_at    BIGINT NOT NULL,
    outcome        TEXT NOT NULL
  );

  CREATE TABLE prolific_bonus_runs (
    id         BIGINT PRIMARY KEY,        -- max + 1 under a lock, as SQLite's rowid (db copy keeps ids)
    study_id   TEXT NOT NULL REFERENCES studies(id),
    batch      TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('intent', 'set_up', 'paying', 'paid')),
    setup_id   TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  );
  CREATE TABLE prolific_bonus_items (
    study_id      TEXT NOT NULL,
    batch         TEXT NOT NULL,
    session_id    TEXT NOT NULL REFERENCES sessions(id),
    run_id        BIGINT NOT NULL REFERENCES prolific_bonus_runs(id),
    submission_id TEXT NOT NULL,
    amount_cents  INTEGER NOT NULL CHECK (amount_cents > 0),
    PRIMARY KEY (study_id, batch, session_id)
  );
  `,
  // 7: participants the device check turned away before any session (pseudonymous, first reason).
  `
  CREATE TABLE turn_aways (
    study_id       TEXT NOT NULL REFERENCES studies(id),
    participant_id TEXT NOT NULL,
    reason         TEXT NOT NULL CHECK (reason IN ('device', 'screen', 'pointer', 'audio', 'window')),
    at             BIGINT NOT NULL,
    PRIMARY KEY (study_id, participant_id)
  );
  CREATE INDEX sessions_by_participant ON sessions (study_id, participant_id);
  `,
];
