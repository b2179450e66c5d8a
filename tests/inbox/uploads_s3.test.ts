// inbox attachments in S3, against a real S3 API (s3rver on Node): the upload goes to the
// bucket, the presigned URL serves the same bytes, check-url turns true once the last URL
// issued has expired, and refresh-url signs one that works.
import assert from "node:assert/strict";
import {
  api,
  download,
  ignoreWithoutNode,
  person,
  randomBytes,
  startS3Server,
  startTestServer,
  uploadFile,
} from "../fixtures/mod.ts";

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

Deno.test({
  name: "an S3 upload is served through its presigned URL, which check-url and refresh-url renew",
  ignore: ignoreWithoutNode("uploads_s3"),
  async fn() {
    await using s3 = await startS3Server();
    await using srv = await startTestServer({ ...s3.env, UPLOAD_URL_TTL: "2s" });
    const ann = await person(srv);
    const bob = await person(srv);
    const eve = await person(srv);
    const bytes = randomBytes(300_000);

    const before = Date.now();
    const up = await uploadFile(srv, bytes, {
      token: ann.access,
      name: "cv.pdf",
      type: "application/pdf",
    });
    assert.equal(up.status, 200, JSON.stringify(up.body));
    const key: string = up.body.file_identifier;
    assert.match(key, /^[0-9a-f]{32}\.pdf$/);
    const location = new URL(up.body.file_location);
    assert.equal(location.origin, s3.endpoint);
    assert.equal(location.pathname, `/${s3.bucket}/${key}`);
    assert.ok(location.searchParams.get("X-Amz-Signature"));
    assert.equal(location.searchParams.get("X-Amz-Expires"), "2");
    const expires = Date.parse(up.body.expiration_time);
    assert.ok(expires > before && expires <= Date.now() + 2000, up.body.expiration_time);

    const got = await download(up.body.file_location);
    assert.equal(got.status, 200);
    assert.deepEqual(got.bytes, bytes);
    assert.equal(got.headers.get("content-type"), "application/pdf");

    // The message that carries it; claiming signs a new URL and records its expiry.
    const room = await srv.core.rooms.direct(ann.user.id, bob.user.id);
    const claimed = await srv.core.uploads.claim(key, ann.user.id);
    assert.equal(claimed.storage, "s3");
    const { message } = await srv.core.messages.send({
      roomId: room.id,
      authorId: ann.user.id,
      text: "my CV",
      attachmentId: claimed.id,
    });
    const check = () =>
      api(srv, "GET", `/api/rooms/check-url/?message_id=${message.id}`, { token: bob.access });
    assert.deepEqual((await check()).body, { refresh_url: false });
    // Local serving has nothing to say about a file in S3.
    assert.equal((await download(`${srv.url}/uploads/${key}`)).status, 404);

    // Past the URL's lifetime the bucket refuses it, and check-url says to refresh.
    await delay(claimed.expiresAt! - Date.now() + 20);
    assert.deepEqual((await check()).body, { refresh_url: true });
    assert.equal((await download(claimed.url)).status, 403);

    const refreshed = await api(srv, "GET", `/api/rooms/refresh-url/?message_id=${message.id}`, {
      token: bob.access,
    });
    assert.equal(refreshed.status, 200);
    assert.notEqual(refreshed.body.file_location, claimed.url);
    assert.ok(Date.parse(refreshed.body.expiration_time) > Date.now());
    assert.deepEqual((await check()).body, { refresh_url: false });
    const again = await download(refreshed.body.file_location);
    assert.equal(again.status, 200);
    assert.deepEqual(again.bytes, bytes);

    // History rendering gets fresh URLs too.
    const views = await srv.core.uploads.views([claimed.id]);
    assert.equal((await download(views.get(claimed.id)!.url)).status, 200);

    const outsider = await api(srv, "GET", `/api/rooms/refresh-url/?message_id=${message.id}`, {
      token: eve.access,
    });
    assert.equal(outsider.status, 403);
  },
});

Deno.test({
  name: "an HTML file in S3 is stored to be downloaded, not shown",
  ignore: ignoreWithoutNode("uploads_s3"),
  async fn() {
    await using s3 = await startS3Server();
    await using srv = await startTestServer(s3.env);
    const ann = await person(srv);
    const up = await uploadFile(srv, "<script>alert(1)</script>", {
      token: ann.access,
      name: "page.html",
      type: "text/html",
    });
    assert.equal(up.status, 200);
    const got = await download(up.body.file_location);
    assert.equal(got.status, 200);
    assert.match(got.headers.get("content-disposition") ?? "", /^attachment; /);
  },
});
