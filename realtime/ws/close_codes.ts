// Close codes every raw-WebSocket face uses: RFC 6455's own, and the 4000–4999 range that
// applications own, named after the HTTP status a client would know them by.
export const CLOSE = {
  /** The server is stopping; reconnect elsewhere or later. */
  goingAway: 1001,
  /** A frame broke the endpoint's rules badly enough to end the connection. */
  policy: 1008,
  /** A frame over the size limit. */
  tooBig: 1009,
  /** The server failed. */
  internal: 1011,
  /** The client stopped reading what it was sent; reconnect and catch up from history. */
  tryAgainLater: 1013,
  /** Logged out, session revoked, or account deactivated or deleted. */
  signedOut: 4401,
  /** The thing the connection was about is gone (a deleted room). */
  gone: 4404,
} as const;
