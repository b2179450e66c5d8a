// inbox attachments on local disk, through the real server: upload (multipart `myFile`),
// serving under /uploads/<key>, the size limits, anonymous uploads, and check-url/refresh-url.
import assert from "node:assert/strict";
import { TooLarge, ValidationError } from "@/lib/errors.ts";
import {
  api,
  download,
  person,
  randomBytes,
  rawSendUntilAnswered,
  startTestServer,
  type TestServer,
  uploadFile,
} from "../fixtures/mod.ts";

const KEY = /^[0-9a-f]{32}(\.[a-z0-9]{1,10})?$/;

const hostPort = (srv: TestServer) => new URL(srv.url).host;

/** Every file (not folder) under `dir`, if it exists. */
async function filesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) found.push(...await filesUnder(path));
      else found.push(path);
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return found;
}

/** A direct conversation between two people and a message in it carrying `key`'s file. */
async function messageWithFile(srv: TestServer, authorId: number, otherId: number, key: string) {
  const room = await srv.core.rooms.direct(authorId, otherId);
  const upload = await srv.core.uploads.claim(key, authorId);
  const { message } = await srv.core.messages.send({
    roomId: room.id,
    authorId,
    text: "see attached",
    attachmentId: upload.id,
  });
  return message;
}

/** The head of a raw upload request (boundary `XyZ`) with its framing header. */
function uploadHead(srv: TestServer, token: string, framing: string): string {
  return [
    "POST /api/rooms/upload HTTP/1.1",
    `Host: ${hostPort(srv)}`,
    `Authorization: Bearer ${token}`,
    "Content-Type: multipart/form-data; boundary=XyZ",
    framing,
  ].join("\r\n");
}

Deno.test("an uploaded file comes back byte for byte, with its type, from the URL the upload gave", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv);
  const bytes = randomBytes(200_000);
  const res = await uploadFile(srv, bytes, {
    token: ann.access,
    name: "photo.png",
    type: "image/png",
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.deepEqual(Object.keys(res.body).sort(), [
    "expiration_time",
    "file_identifier",
    "file_location",
  ]);
  assert.match(res.body.file_identifier, KEY);
  assert.ok(res.body.file_identifier.endsWith(".png"));
  assert.equal(res.body.file_location, `${srv.url}/uploads/${res.body.file_identifier}`);
  assert.equal(res.body.expiration_time, null);

  const got = await download(res.body.file_location);
  assert.equal(got.status, 200);
  assert.deepEqual(got.bytes, bytes);
  assert.equal(got.headers.get("content-type"), "image/png");
  assert.equal(got.headers.get("x-content-type-options"), "nosniff");
  assert.match(got.headers.get("content-disposition")!, /^inline; .*filename\*=UTF-8''photo\.png$/);
});

Deno.test("the upload URL starts with PUBLIC_URL when it is set", async () => {
  await using srv = await startTestServer({ PUBLIC_URL: "https://chat.example.com" });
  const ann = await person(srv);
  const res = await uploadFile(srv, "hello", {
    token: ann.access,
    name: "a.txt",
    type: "text/plain",
  });
  assert.equal(res.status, 200);
  assert.equal(
    res.body.file_location,
    `https://chat.example.com/uploads/${res.body.file_identifier}`,
  );
});

Deno.test("a file name with path tricks is stored under a generated key and kept only as a name", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv);
  for (const [name, kept] of [["../../etc/passwd", "passwd"], ["a/b\\c.txt", "c.txt"]]) {
    const res = await uploadFile(srv, "secret-ish", { token: ann.access, name });
    assert.equal(res.status, 200);
    const key: string = res.body.file_identifier;
    assert.match(key, KEY);
    // On disk under the upload directory, by key; nothing was written by the client's name.
    const stat = await Deno.stat(`${srv.dir}/uploads/${key.slice(0, 2)}/${key}`);
    assert.equal(stat.size, "secret-ish".length);
    const got = await download(res.body.file_location);
    assert.equal(new TextDecoder().decode(got.bytes), "secret-ish");
    assert.ok(got.headers.get("content-disposition")!.endsWith(`filename*=UTF-8''${kept}`));
  }
  await assert.rejects(Deno.stat(`${srv.dir}/etc`));
});

Deno.test("a long or unusual file name is bounded and encoded safely in the download header", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv);
  const res = await uploadFile(srv, "x", { token: ann.access, name: `${"é".repeat(500)}"; x=(1)` });
  assert.equal(res.status, 200);
  const got = await download(res.body.file_location);
  const disposition = got.headers.get("content-disposition")!;
  // Every name character is one header-safe byte or a %XX escape; 200 characters at most.
  const encoded = disposition.split("filename*=UTF-8''")[1];
  assert.match(encoded, /^[A-Za-z0-9!#$&+\-.^_`|~%]+$/);
  assert.equal([...decodeURIComponent(encoded)].length, 200);
  assert.equal(got.headers.get("content-type"), "application/octet-stream");
});

Deno.test("HTML, SVG and unknown types are served as downloads that cannot run or be sniffed", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv);
  const cases = [
    { name: "page.html", type: "text/html", body: "<script>alert(1)</script>" },
    { name: "pic.svg", type: "image/svg+xml", body: "<svg onload='alert(1)'/>" },
    { name: "thing", type: "", body: "<html>guess me</html>" },
    { name: "x.xml", type: "Application/XHTML+XML; charset=utf-8", body: "<x/>" },
  ];
  for (const { name, type, body } of cases) {
    const res = await uploadFile(srv, body, { token: ann.access, name, type });
    assert.equal(res.status, 200);
    const got = await download(res.body.file_location);
    assert.equal(got.status, 200);
    assert.equal(got.headers.get("x-content-type-options"), "nosniff", name);
    assert.match(got.headers.get("content-security-policy")!, /sandbox/, name);
    assert.match(got.headers.get("content-disposition")!, /^attachment; /, name);
  }
  const unknown = await download(`${srv.url}/uploads/${"0".repeat(32)}.png`);
  assert.equal(unknown.status, 404);
  assert.equal((await download(`${srv.url}/uploads/..%2F..%2Fchat.db`)).status, 404);
});

Deno.test("a request whose Content-Length is over UPLOAD_MAX_BYTES gets 413 before its body is read", async () => {
  await using srv = await startTestServer({ UPLOAD_MAX_BYTES: "1024" });
  const ann = await person(srv);
  const res = await uploadFile(srv, randomBytes(64 * 1024), { token: ann.access });
  assert.equal(res.status, 413);
  assert.deepEqual(Object.keys(res.body), ["detail"]);
  // Within the multipart framing allowance, but the file itself is over the limit.
  const slightly = await uploadFile(srv, randomBytes(1025), { token: ann.access });
  assert.equal(slightly.status, 413);
  const exactly = await uploadFile(srv, randomBytes(1024), { token: ann.access });
  assert.equal(exactly.status, 200);

  // It says 50 MB are coming and sends none: the answer cannot have waited for them.
  const answer = await rawSendUntilAnswered(
    hostPort(srv),
    uploadHead(srv, ann.access, "Content-Length: 50000000"),
    [],
  );
  assert.equal(answer.status, 413);
  assert.ok(JSON.parse(answer.body).detail);
});

Deno.test("a chunked upload that grows past the limit gets 413 without being read to its end", async () => {
  await using srv = await startTestServer({ UPLOAD_MAX_BYTES: "1024" });
  const ann = await person(srv);
  const encoder = new TextEncoder();
  const total = 64 * 1024 * 1024;
  function* body() {
    yield encoder.encode(
      '--XyZ\r\nContent-Disposition: form-data; name="myFile"; filename="big.bin"\r\n' +
        "Content-Type: application/octet-stream\r\n\r\n",
    );
    const chunk = new Uint8Array(16 * 1024);
    for (let sent = 0; sent < total; sent += chunk.length) yield chunk;
  }
  const answer = await rawSendUntilAnswered(
    hostPort(srv),
    uploadHead(srv, ann.access, "Transfer-Encoding: chunked"),
    body(),
    { chunked: true },
  );
  assert.equal(answer.status, 413);
  assert.ok(JSON.parse(answer.body).detail);
  assert.ok(answer.sent < total, "the server answered before the whole body was sent");
  assert.deepEqual(await filesUnder(`${srv.dir}/uploads`), [], "nothing of it was kept");
});

Deno.test("uploads have their own limit: larger than MAX_BODY_BYTES is fine there and nowhere else", async () => {
  await using srv = await startTestServer({ MAX_BODY_BYTES: "2048" });
  const ann = await person(srv);
  const bytes = randomBytes(100_000);
  const res = await uploadFile(srv, bytes, { token: ann.access, name: "big.bin" });
  assert.equal(res.status, 200);
  assert.deepEqual((await download(res.body.file_location)).bytes, bytes);
  const elsewhere = await api(srv, "POST", "/auth/login/", {
    body: { email: "x@example.com", password: "y".repeat(4096) },
  });
  assert.equal(elsewhere.status, 413);
});

Deno.test("an empty file, a missing field or a body that is not multipart is a 400 on myFile", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv);
  const empty = await uploadFile(srv, "", { token: ann.access, name: "empty.txt" });
  assert.equal(empty.status, 400);
  assert.deepEqual(empty.body, { myFile: ["The submitted file is empty."] });

  const wrongField = await uploadFile(srv, "data", { token: ann.access, field: "file" });
  assert.equal(wrongField.status, 400);
  assert.deepEqual(wrongField.body, { myFile: ["No file was submitted."] });

  const json = await api(srv, "POST", "/api/rooms/upload", {
    token: ann.access,
    body: { myFile: "data" },
  });
  assert.equal(json.status, 400);
  assert.deepEqual(json.body, { myFile: ["No file was submitted."] });

  const form = new FormData();
  form.append("myFile", "just text");
  const text = await fetch(`${srv.url}/api/rooms/upload`, {
    method: "POST",
    headers: { authorization: `Bearer ${ann.access}` },
    body: form,
  });
  assert.equal(text.status, 400);
  assert.deepEqual(await text.json(), {
    myFile: ["The submitted data was not a file. Check the encoding type on the form."],
  });

  const broken = await api(srv, "POST", "/api/rooms/upload", {
    token: ann.access,
    headers: { "content-type": "multipart/form-data; boundary=nope" },
    raw: "--nope\r\nthis is not a part",
  });
  assert.equal(broken.status, 400);
});

Deno.test("an upload without a token is refused with 401 by default; a bare token is accepted", async () => {
  await using srv = await startTestServer();
  const res = await uploadFile(srv, "data");
  assert.equal(res.status, 401);
  assert.deepEqual(res.body, { detail: "Authentication credentials were not provided." });
  const bad = await uploadFile(srv, "data", { token: "not-a-token" });
  assert.equal(bad.status, 401);

  const ann = await person(srv);
  const form = new FormData();
  form.append("myFile", new File(["data"], "a.txt", { type: "text/plain" }));
  const bare = await fetch(`${srv.url}/api/rooms/upload`, {
    method: "POST",
    headers: { authorization: ann.access },
    body: form,
  });
  assert.equal(bare.status, 200);
  await bare.body?.cancel();
});

Deno.test("with anonymous uploads on, uploads need no token, are rate limited per address, and the checks still need one", async () => {
  await using srv = await startTestServer({
    UPLOAD_ALLOW_ANONYMOUS: "true",
    UPLOAD_ANONYMOUS_RATE: "1",
    UPLOAD_ANONYMOUS_BURST: "2",
  });
  const first = await uploadFile(srv, "one", { name: "1.txt", type: "text/plain" });
  assert.equal(first.status, 200);
  assert.equal(new TextDecoder().decode((await download(first.body.file_location)).bytes), "one");
  assert.equal((await uploadFile(srv, "two")).status, 200);
  const third = await uploadFile(srv, "three");
  assert.equal(third.status, 429);
  assert.ok(Number(third.headers.get("retry-after")) >= 1);
  assert.ok(third.body.detail);

  // A request with a token is its sender's, and not counted against the address.
  const ann = await person(srv);
  const bob = await person(srv);
  const owned = await uploadFile(srv, "ann's", { token: ann.access });
  assert.equal(owned.status, 200);
  await assert.rejects(
    srv.core.uploads.claim(owned.body.file_identifier, bob.user.id),
    (err) =>
      err instanceof ValidationError && err.problems.file_identifier[0].code === "invalid_upload",
  );
  assert.equal((await srv.core.uploads.claim(owned.body.file_identifier, ann.user.id)).size, 5);

  // The first sender to claim an anonymous upload gets it; nobody else can after that.
  const claimed = await srv.core.uploads.claim(first.body.file_identifier, bob.user.id);
  assert.equal(claimed.name, "1.txt");
  await assert.rejects(
    srv.core.uploads.claim(first.body.file_identifier, ann.user.id),
    ValidationError,
  );

  assert.equal((await api(srv, "GET", "/api/rooms/check-url/?message_id=1")).status, 401);
  assert.equal((await api(srv, "GET", "/api/rooms/refresh-url/?message_id=1")).status, 401);
});

Deno.test("claiming an unknown key is a validation error on file_identifier", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv);
  for (const key of ["0".repeat(32), "../../chat.db", ""]) {
    await assert.rejects(
      srv.core.uploads.claim(key, ann.user.id),
      (err) =>
        err instanceof ValidationError && err.problems.file_identifier[0].code === "invalid_upload",
    );
  }
});

Deno.test("check-url is false for local files and refresh-url gives the same local URL, to members only", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv);
  const bob = await person(srv);
  const eve = await person(srv);
  const up = await uploadFile(srv, "pdf bytes", {
    token: ann.access,
    name: "cv.pdf",
    type: "application/pdf",
  });
  const message = await messageWithFile(srv, ann.user.id, bob.user.id, up.body.file_identifier);

  for (const reader of [ann, bob]) {
    const check = await api(srv, "GET", `/api/rooms/check-url/?message_id=${message.id}`, {
      token: reader.access,
    });
    assert.equal(check.status, 200);
    assert.deepEqual(check.body, { refresh_url: false });
    const refresh = await api(srv, "GET", `/api/rooms/refresh-url/?message_id=${message.id}`, {
      token: reader.access,
    });
    assert.equal(refresh.status, 200);
    assert.deepEqual(refresh.body, {
      file_location: up.body.file_location,
      expiration_time: null,
    });
  }

  for (const path of ["check-url", "refresh-url"]) {
    const outsider = await api(srv, "GET", `/api/rooms/${path}/?message_id=${message.id}`, {
      token: eve.access,
    });
    assert.equal(outsider.status, 403, path);
    assert.deepEqual(Object.keys(outsider.body), ["detail"]);
    const unknown = await api(srv, "GET", `/api/rooms/${path}/?message_id=999999`, {
      token: ann.access,
    });
    assert.equal(unknown.status, 404, path);
    assert.deepEqual(unknown.body, { detail: "Not found." });
    const missing = await api(srv, "GET", `/api/rooms/${path}/`, { token: ann.access });
    assert.equal(missing.status, 400);
    assert.deepEqual(missing.body, { message_id: ["This field is required."] });
    const word = await api(srv, "GET", `/api/rooms/${path}/?message_id=abc`, { token: ann.access });
    assert.equal(word.status, 400);
    assert.deepEqual(word.body, { message_id: ["A valid integer is required."] });
    const anonymous = await api(srv, "GET", `/api/rooms/${path}/?message_id=${message.id}`);
    assert.equal(anonymous.status, 401);
  }

  // A message without a file has nothing to check.
  const room = await srv.core.rooms.direct(ann.user.id, bob.user.id);
  const { message: plain } = await srv.core.messages.send({
    roomId: room.id,
    authorId: ann.user.id,
    text: "no file",
  });
  const none = await api(srv, "GET", `/api/rooms/check-url/?message_id=${plain.id}`, {
    token: bob.access,
  });
  assert.equal(none.status, 404);
});

Deno.test("views() renders many attachments at once and leaves unknown ids out", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv);
  const a = await srv.core.uploads.store({
    uploaderId: ann.user.id,
    name: "a.png",
    contentType: "image/png",
    body: new Uint8Array([1, 2, 3]),
  });
  const b = await srv.core.uploads.store({
    uploaderId: ann.user.id,
    name: "b.txt",
    contentType: "text/plain; charset=utf-8",
    body: new Blob(["hello"]).stream(),
  });
  const views = await srv.core.uploads.views([a.id, b.id, a.id, 424242]);
  assert.deepEqual([...views.keys()].sort(), [a.id, b.id].sort());
  assert.deepEqual(views.get(b.id), {
    id: b.id,
    key: b.key,
    name: "b.txt",
    contentType: "text/plain",
    size: 5,
    storage: "local",
    url: `/uploads/${b.key}`,
    expiresAt: null,
  });
  const opened = await srv.core.uploads.open(a.key);
  assert.ok(opened);
  assert.deepEqual(
    new Uint8Array(await new Response(opened.body).arrayBuffer()),
    new Uint8Array([1, 2, 3]),
  );
  assert.equal(await srv.core.uploads.open(`${"f".repeat(32)}.png`), undefined);
});

Deno.test("the core refuses a file past the limit, an empty one and one it cannot record, and keeps nothing", async () => {
  await using srv = await startTestServer({ UPLOAD_MAX_BYTES: "1024" });
  const ann = await person(srv);
  let pulled = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled += 512;
      controller.enqueue(new Uint8Array(512));
    },
  });
  await assert.rejects(
    srv.core.uploads.store({
      uploaderId: ann.user.id,
      name: "big",
      contentType: "",
      body: endless,
    }),
    (err) => err instanceof TooLarge && err.limit === 1024,
  );
  assert.ok(pulled <= 1024 + 512 * 2, "the stream was not read far past the limit");
  await assert.rejects(
    srv.core.uploads.store({
      uploaderId: ann.user.id,
      name: "empty",
      contentType: "",
      body: new Uint8Array(0),
    }),
    (err) => err instanceof ValidationError && err.problems.file[0].code === "empty_file",
  );
  // A record that cannot be written (no such uploader) takes its stored bytes with it.
  await assert.rejects(
    srv.core.uploads.store({
      uploaderId: 987654,
      name: "orphan.txt",
      contentType: "text/plain",
      body: new Uint8Array([1]),
    }),
    /FOREIGN KEY/,
  );
  assert.deepEqual(await filesUnder(`${srv.dir}/uploads`), []);
  const row = await srv.core.uploads.views([1]);
  assert.equal(row.size, 0, "no record either");
});
