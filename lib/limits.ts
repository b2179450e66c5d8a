// The core's size limits, exported once: the core enforces them and every face's schemas reuse
// them, so a limit changes in one place. Configurable limits (message length) live in config.

export const LIMITS = {
  /** Account fields, as Django's user model has them. */
  username: 150,
  email: 254,
  name: 150,
  password: 1024,
  /** What a login form takes: a username or an e-mail. */
  login: 254,
  /** Group rooms (meet rooms, lounge groups). */
  roomName: 100,
  roomDescription: 2000,
  roomSearch: 100,
  /** A client's own message id (retries are stored once). */
  clientId: 64,
  /** An upload's identifier as a client names it in a message (inbox's file_identifier). */
  fileIdentifier: 200,
  /** An image reference (URL or stored path) in a message or a desk room. */
  image: 2048,
  /** A JWT in a request body. */
  token: 4096,
  /** The longest text a desk room's opening question may carry before the message check. */
  topic: 100_000,
  /** History pages: the largest `limit`, and the page size when none is asked. */
  historyPage: 100,
  historyDefaultPage: 50,
  /** Rows one page of a streamed whole history holds (memory per response stays this size). */
  historyStreamPage: 200,
  /** The default of HISTORY_MAX: most messages a whole-history response returns. */
  historyMax: 10_000,
  /** Rooms a notification socket follows for counts (the most recently active ones). */
  followedRooms: 1000,
  /** Accounts one page of a streamed user list holds. */
  userPage: 200,
  /** Pages by time (meet's `{"results": [...]}` shape): the largest `limit`. */
  historyTimePage: 200,
} as const;
