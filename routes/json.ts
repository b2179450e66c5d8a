// Rendering shared by every face: times are stored as ms since the epoch and shown as ISO 8601.

export const iso = (ms: number) => new Date(ms).toISOString();
