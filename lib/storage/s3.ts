// Uploads in an S3 bucket (AWS, or any S3 API such as MinIO through S3_ENDPOINT). Browsers
// fetch them straight from the bucket through presigned GET URLs that expire.
import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { TooLarge } from "../errors.ts";
import { contentDisposition } from "./files.ts";
import type { FileFacts, Storage } from "./storage.ts";

export interface S3Settings {
  bucket: string;
  /** An S3-compatible endpoint; AWS's own for the region when unset. */
  endpoint?: string;
  /** Bucket in the path (`endpoint/bucket/key`) instead of the host name. */
  forcePathStyle: boolean;
  region: string;
  /** Explicit credentials; the SDK's default chain (environment, profile, role) when unset. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/**
 * Reads a whole body, at most `maxBytes` of it: a PUT of unknown length would need a multipart
 * upload, and files here are small (UPLOAD_MAX_BYTES), so one bounded buffer is simpler.
 */
async function readBounded(body: ReadableStream<Uint8Array>, maxBytes: number) {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > maxBytes) throw new TooLarge(maxBytes);
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

/** S3 storage; `urlTtl` is how long a presigned URL works, in seconds (7 days at most). */
export function createS3Storage(settings: S3Settings, urlTtl: number, now: () => number): Storage {
  const client = new S3Client({
    region: settings.region,
    endpoint: settings.endpoint,
    forcePathStyle: settings.forcePathStyle,
    credentials: settings.credentials,
    // Checksums only where S3 requires them: several S3-compatible servers reject the SDK's
    // default extra checksum headers.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  const Bucket = settings.bucket;

  return {
    kind: "s3",
    async put(key, body, facts: FileFacts, maxBytes) {
      const bytes = await readBounded(body, maxBytes);
      await client.send(
        new PutObjectCommand({
          Bucket,
          Key: key,
          Body: bytes,
          ContentLength: bytes.byteLength,
          ContentType: facts.contentType,
          // The bucket serves the file as it would be served here: active types as downloads.
          ContentDisposition: contentDisposition(facts.name, facts.contentType),
        }),
      );
      return bytes.byteLength;
    },
    async delete(key) {
      await client.send(new DeleteObjectCommand({ Bucket, Key: key }));
    },
    async url(key) {
      // Signed at a whole second (X-Amz-Date has no finer unit), so the expiry is exact.
      const signedAt = Math.floor(now() / 1000) * 1000;
      const url = await getSignedUrl(client, new GetObjectCommand({ Bucket, Key: key }), {
        expiresIn: urlTtl,
        signingDate: new Date(signedAt),
      });
      return { url, expiresAt: signedAt + urlTtl * 1000 };
    },
    close() {
      client.destroy();
    },
  };
}
