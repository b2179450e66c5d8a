// Attachments: files uploaded before the message that carries them. The bytes go to a storage
// back-end (local disk by default, S3 when configured); the record names a generated key, the
// client's cleaned file name and type. An upload belongs to its uploader; an anonymous one
// (UPLOAD_ALLOW_ANONYMOUS) to the first sender who claims its key, which is unguessable and so
// works as a capability. Who may see a message's file is decided here: its room's members.
import type { Db } from "@/db/client.ts";
import {
  claimAnonymousAttachment,
  findAttachmentByKey,
  findAttachmentRows,
  findMessageAttachment,
  insertAttachment,
  setAttachmentUrlExpiry,
} from "@/db/attachments.ts";
import { findMemberRow } from "@/db/rooms.ts";
import type { AttachmentRow } from "@/db/schema.ts";
import { AuthenticationError, NotFound, PermissionDenied, ValidationError } from "./errors.ts";
import type { Metrics } from "./metrics.ts";
import type { Attachment } from "./records.ts";
import { memoryRateLimiter, type RateLimiter, takeOrRefuse } from "./rate.ts";
import { generateKey, KEY_PATTERN, normalizeContentType, sanitizeName } from "./storage/files.ts";
import { createLocalStorage } from "./storage/local.ts";
import { createS3Storage, type S3Settings } from "./storage/s3.ts";
import { asStream, type Storage } from "./storage/storage.ts";

export interface UploadSettings {
  /** Local storage directory (also read for local files when S3 is on). */
  dir: string;
  /** Largest file, in bytes. */
  maxBytes: number;
  /** How long a presigned S3 URL works, in seconds. */
  urlTtl: number;
  /** Uploads without a token, claimed later by a sender. */
  allowAnonymous: boolean;
  /** Anonymous uploads one client address may make per minute, and the burst. */
  anonymousRate: { perMinute: number; burst: number };
  /** Files go to this bucket when set. */
  s3?: S3Settings;
}

export const DEFAULT_UPLOAD_SETTINGS: UploadSettings = {
  dir: "./data/uploads",
  maxBytes: 10 * 1024 * 1024,
  urlTtl: 3600,
  allowAnonymous: false,
  anonymousRate: { perMinute: 10, burst: 5 },
};

/** An attachment as faces show it (the record type every face shares). */
export type AttachmentView = Attachment;

export interface NewUpload {
  /** Null: anonymous (only when allowed). */
  uploaderId: number | null;
  /** The client's file name; only kept for display and downloads. */
  name: string;
  /** The client's content type; normalised, octet-stream when unusable. */
  contentType: string;
  body: ReadableStream<Uint8Array> | Uint8Array;
}

/** A local file to serve. */
export interface OpenedFile {
  body: ReadableStream<Uint8Array>;
  contentType: string;
  size: number;
  name: string;
}

export interface UploadsDeps {
  db: Db;
  now: () => number;
  settings: UploadSettings;
  metrics?: Metrics;
}

/** Most ids looked up in one query (SQLite bounds the parameters of a statement). */
const IDS_PER_QUERY = 500;

export function createUploads({ db, now, settings, metrics }: UploadsDeps) {
  const local = createLocalStorage(settings.dir);
  const s3 = settings.s3 ? createS3Storage(settings.s3, settings.urlTtl, now) : undefined;
  /** Where new files go. */
  const target: Storage = s3 ?? local;
  const anonymousLimiter: RateLimiter = memoryRateLimiter({
    rate: settings.anonymousRate.perMinute / 60,
    burst: settings.anonymousRate.burst,
    now,
  });

  async function view(row: AttachmentRow): Promise<AttachmentView> {
    const storage = row.storage === "s3" ? s3 : local;
    // An S3 file while S3 is no longer configured has no URL to give.
    const { url, expiresAt } = storage
      ? await storage.url(row.key, { contentType: row.content_type, name: row.name })
      : { url: "", expiresAt: null };
    return {
      id: row.id,
      key: row.key,
      name: row.name,
      contentType: row.content_type,
      size: row.size,
      storage: row.storage,
      url,
      expiresAt,
    };
  }

  /** A view with a fresh URL, whose expiry is recorded for checkUrl (S3 only). */
  async function issue(row: AttachmentRow): Promise<AttachmentView> {
    const fresh = await view(row);
    if (fresh.expiresAt !== null) await setAttachmentUrlExpiry(db, row.id, fresh.expiresAt);
    return fresh;
  }

  /**
   * Refuses an upload before its body is read: 401 for an anonymous one when those are off,
   * 429 when this client address made too many anonymous ones.
   */
  async function admit(uploaderId: number | null, clientKey: string): Promise<void> {
    if (uploaderId !== null) return;
    if (!settings.allowAnonymous) throw new AuthenticationError("not_authenticated");
    await takeOrRefuse(anonymousLimiter, `upload:${clientKey}`, () => {
      metrics?.throttled.inc({ limit: "anonymous_upload" });
    });
  }

  /**
   * Stores a file and its record. The bytes go first (no storage call inside a database
   * transaction); if the record cannot be written the bytes are removed again.
   */
  async function store(input: NewUpload): Promise<AttachmentView> {
    if (input.uploaderId === null && !settings.allowAnonymous) {
      throw new AuthenticationError("not_authenticated");
    }
    const name = sanitizeName(input.name);
    const contentType = normalizeContentType(input.contentType);
    const key = generateKey(contentType, name);
    const facts = { name, contentType };
    const size = await target.put(key, asStream(input.body), facts, settings.maxBytes);
    try {
      if (size === 0) throw ValidationError.of("file", { code: "empty_file" });
      const row = await insertAttachment(db, {
        uploader_id: input.uploaderId,
        storage: target.kind,
        key,
        name,
        content_type: contentType,
        size,
        created_at: now(),
        url_expires_at: null,
      });
      return await issue(row);
    } catch (err) {
      await target.delete(key).catch(() => {});
      throw err;
    }
  }

  /** The sender's own upload, or an unclaimed anonymous one (which becomes theirs). */
  async function claim(key: string, userId: number): Promise<AttachmentView> {
    const invalid = () => ValidationError.of("file_identifier", { code: "invalid_upload" });
    if (!KEY_PATTERN.test(key)) throw invalid();
    let row = await findAttachmentByKey(db, key);
    if (!row) throw invalid();
    if (row.uploader_id === null && await claimAnonymousAttachment(db, row.id, userId)) {
      row = { ...row, uploader_id: userId };
    } else if (row.uploader_id === null) {
      row = await findAttachmentByKey(db, key); // someone claimed it an instant before
    }
    if (!row || row.uploader_id !== userId) throw invalid();
    return await issue(row);
  }

  /** Views of many attachments (fresh URLs for S3), by id; unknown ids are left out. */
  async function views(ids: number[]): Promise<Map<number, AttachmentView>> {
    const unique = [...new Set(ids)];
    const out = new Map<number, AttachmentView>();
    for (let i = 0; i < unique.length; i += IDS_PER_QUERY) {
      const rows = await findAttachmentRows(db, unique.slice(i, i + IDS_PER_QUERY));
      // Histories render many at once; these URLs are not recorded (see checkUrl).
      for (const row of rows) out.set(row.id, await view(row));
    }
    return out;
  }

  /** A message's attachment, for one of its room's members. */
  async function readable(messageId: number, userId: number): Promise<AttachmentRow> {
    const found = await findMessageAttachment(db, messageId);
    if (!found) throw new NotFound();
    if (!await findMemberRow(db, found.roomId, userId)) throw new PermissionDenied();
    if (!found.attachment) throw new NotFound();
    return found.attachment;
  }

  /**
   * True when the last URL issued (at upload, claim or refresh) has expired: S3 only. URLs in
   * rendered histories are fresher, so a client may refresh early; it is never told too late.
   */
  async function checkUrl(messageId: number, userId: number): Promise<boolean> {
    const row = await readable(messageId, userId);
    if (row.storage !== "s3") return false;
    return row.url_expires_at === null || now() >= row.url_expires_at;
  }

  /** A fresh URL for a message's file (S3: newly signed, its expiry recorded). */
  async function refreshUrl(messageId: number, userId: number): Promise<AttachmentView> {
    return await issue(await readable(messageId, userId));
  }

  /** A locally stored file, for serving; undefined when there is none under this key. */
  async function open(key: string): Promise<OpenedFile | undefined> {
    if (!KEY_PATTERN.test(key)) return undefined;
    const row = await findAttachmentByKey(db, key);
    if (!row || row.storage !== "local") return undefined;
    const file = await local.open!(key);
    if (!file) return undefined;
    return { body: file.body, size: file.size, contentType: row.content_type, name: row.name };
  }

  return {
    /** Where new uploads go. */
    storage: target.kind,
    maxBytes: settings.maxBytes,
    allowAnonymous: settings.allowAnonymous,
    admit,
    store,
    claim,
    views,
    checkUrl,
    refreshUrl,
    open,
    /** Lets go of the S3 client's connections. */
    close(): void {
      s3?.close();
    },
  };
}

export type Uploads = ReturnType<typeof createUploads>;
