-- The one model behind all five faces (see DESIGN.md, "One model for every face").
-- Times are integers, milliseconds since the epoch.

CREATE TABLE users (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  username        TEXT    NOT NULL UNIQUE,
  email           TEXT    COLLATE NOCASE,
  -- Django format pbkdf2_sha256$iterations$salt$hash; "!..." is unusable (bots, anonymised).
  password        TEXT    NOT NULL,
  first_name      TEXT    NOT NULL DEFAULT '',
  last_name       TEXT    NOT NULL DEFAULT '',
  role            TEXT    NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'teacher', 'admin')),
  image           TEXT    NOT NULL DEFAULT '',
  is_active       INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
  email_verified  INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1)),
  is_bot          INTEGER NOT NULL DEFAULT 0 CHECK (is_bot IN (0, 1)),
  date_joined     INTEGER NOT NULL,
  last_seen       INTEGER,
  -- Profile extras (live): language, gender, account balance as a decimal string, camera on.
  language        TEXT    NOT NULL DEFAULT 'en',
  gender          TEXT    NOT NULL DEFAULT '',
  balance         TEXT    NOT NULL DEFAULT '0',
  camera_on       INTEGER NOT NULL DEFAULT 0 CHECK (camera_on IN (0, 1)),
  -- live's "current room" selection; cleared when the room goes.
  current_room_id INTEGER REFERENCES rooms (id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX users_email ON users (email) WHERE email IS NOT NULL;

CREATE TABLE rooms (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  kind             TEXT    NOT NULL CHECK (kind IN ('direct', 'group', 'desk')),
  -- group: its creator; desk: the student who asked; direct: the user who opened it.
  created_by       INTEGER REFERENCES users (id),
  created_at       INTEGER NOT NULL,
  -- group (meet rooms, lounge chat groups)
  name             TEXT,
  description      TEXT    NOT NULL DEFAULT '',
  room_type        TEXT    CHECK (room_type IN ('chat', 'video')),
  -- group: soft-deleted when 0; direct (live): suspended when 0.
  is_active        INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
  -- desk: active -> engaged -> closed, the teacher who took it, and the opening question.
  status           TEXT    CHECK (status IN ('active', 'engaged', 'closed')),
  teacher_id       INTEGER REFERENCES users (id),
  topic            TEXT    NOT NULL DEFAULT '',
  topic_image      TEXT    NOT NULL DEFAULT '',
  -- direct: the pair, lower user id first; the unique index below keeps one row per pair.
  user_low         INTEGER REFERENCES users (id),
  user_high        INTEGER REFERENCES users (id),
  -- Kept with each message insert so that conversation lists need no aggregate.
  last_message_id  INTEGER,
  last_activity_at INTEGER NOT NULL,
  CHECK (kind <> 'direct' OR (user_low IS NOT NULL AND user_high IS NOT NULL AND user_low < user_high)),
  CHECK (kind <> 'group' OR (name IS NOT NULL AND room_type IS NOT NULL)),
  CHECK (kind <> 'desk' OR status IS NOT NULL)
);
CREATE UNIQUE INDEX rooms_direct_pair ON rooms (user_low, user_high) WHERE kind = 'direct';
CREATE INDEX rooms_kind_activity ON rooms (kind, is_active, last_activity_at);
CREATE INDEX rooms_desk_status ON rooms (status, created_at) WHERE kind = 'desk';
CREATE INDEX rooms_desk_teacher ON rooms (teacher_id) WHERE kind = 'desk';

CREATE TABLE members (
  room_id      INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
  user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role         TEXT    NOT NULL DEFAULT 'member'
               CHECK (role IN ('member', 'owner', 'student', 'teacher')),
  joined_at    INTEGER NOT NULL,
  -- Read pointer: the id of the last message this member has read. "seen", unread counts
  -- and notifications are derived from it; it only moves forward.
  last_read_id INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (room_id, user_id)
) WITHOUT ROWID;
-- A user's rooms, and the read pointers for their unread counts.
CREATE INDEX members_user ON members (user_id, room_id, last_read_id);

CREATE TABLE attachments (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  uploader_id  INTEGER NOT NULL REFERENCES users (id),
  storage      TEXT    NOT NULL CHECK (storage IN ('local', 's3')),
  -- Generated storage name; the client's file name is only kept as `name`.
  key          TEXT    NOT NULL UNIQUE,
  name         TEXT    NOT NULL,
  content_type TEXT    NOT NULL,
  size         INTEGER NOT NULL CHECK (size >= 0),
  created_at   INTEGER NOT NULL
);

CREATE TABLE messages (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  room_id       INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
  author_id     INTEGER NOT NULL REFERENCES users (id),
  body          TEXT    NOT NULL DEFAULT '',
  image         TEXT    NOT NULL DEFAULT '',
  attachment_id INTEGER REFERENCES attachments (id),
  -- Chosen by the client; a retried send with the same id is stored once.
  client_id     TEXT,
  created_at    INTEGER NOT NULL
);
-- History by id, and unread counts (id > pointer, author <> reader) from the index alone.
CREATE INDEX messages_room_id ON messages (room_id, id, author_id);
-- lounge fetches by timestamp.
CREATE INDEX messages_room_created ON messages (room_id, created_at);
CREATE UNIQUE INDEX messages_client_id ON messages (author_id, client_id) WHERE client_id IS NOT NULL;

-- One row per login: access and refresh tokens carry its id (`sid`); logout revokes it.
CREATE TABLE sessions (
  id         TEXT    PRIMARY KEY,
  user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Every refresh token issued. Rotation marks the old one used; presenting a used one again
-- revokes its whole session (the token family).
CREATE TABLE refresh_tokens (
  jti        TEXT    PRIMARY KEY,
  session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  issued_at  INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at    INTEGER
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- lounge sign-up waiting for its e-mail link. Only a hash of the link's token is kept.
CREATE TABLE pending_signups (
  token_hash TEXT    PRIMARY KEY,
  email      TEXT    NOT NULL COLLATE NOCASE,
  password   TEXT    NOT NULL,
  first_name TEXT    NOT NULL DEFAULT '',
  last_name  TEXT    NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX pending_signups_email ON pending_signups (email);
