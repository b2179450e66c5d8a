// An attachment's whole way through the inbox face: uploaded over REST, sent with a chat_message
// on the conversation socket by its file_identifier, shown in the history, and its URL checked and
// refreshed by message id.
import assert from "node:assert/strict";
import {
  api,
  chatWith,
  download,
  engines,
  person,
  startTestServer,
  textFrame,
  uploadFile,
} from "../fixtures/mod.ts";

engines.test("a file uploaded over REST is sent on the socket by its identifier and found again by its message", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv, { username: "ann" });
  const bob = await person(srv, { username: "bob" });
  const up = await uploadFile(srv, "%PDF-1.4 cv", {
    token: ann.access,
    name: "CV_James_Jack.pdf",
    type: "application/pdf",
  });
  assert.equal(up.status, 200);

  await using annTab = await chatWith(srv, ann, "bob");
  await using bobTab = await chatWith(srv, bob, "ann");
  annTab.send(textFrame("my CV", "bob", {
    multimedia_url: up.body.file_location,
    file_identifier: up.body.file_identifier,
    multimedia_url_expiration: "",
  }));
  const frame = await bobTab.frame("chat_message");
  assert.equal(frame.message, "my CV");
  assert.equal(frame.multimedia_url, up.body.file_location);
  const got = await download(frame.multimedia_url);
  assert.equal(new TextDecoder().decode(got.bytes), "%PDF-1.4 cv");

  const history = await api(srv, "GET", "/api/rooms/ann/messages", { token: bob.access });
  assert.equal(history.status, 200);
  const [shown] = history.body.messages;
  assert.equal(shown.id, frame.id);
  assert.equal(shown.multimedia_url, up.body.file_location);

  const check = await api(srv, "GET", `/api/rooms/check-url/?message_id=${frame.id}`, {
    token: bob.access,
  });
  assert.deepEqual(check.body, { refresh_url: false });
  const refresh = await api(srv, "GET", `/api/rooms/refresh-url/?message_id=${frame.id}`, {
    token: bob.access,
  });
  assert.equal(refresh.body.file_location, up.body.file_location);
});

engines.test("someone else's upload cannot be sent on the socket", async () => {
  await using srv = await startTestServer();
  const ann = await person(srv, { username: "ann" });
  const bob = await person(srv, { username: "bob" });
  const up = await uploadFile(srv, "bob's", { token: bob.access, name: "b.txt" });
  await using annTab = await chatWith(srv, ann, "bob");
  annTab.send(textFrame("look", "bob", { file_identifier: up.body.file_identifier }));
  const error = await annTab.frame("error");
  assert.match(error.detail, /file_identifier/);
  const room = await srv.core.rooms.direct(ann.user.id, bob.user.id);
  assert.deepEqual((await srv.core.messages.history(room.id, ann.user.id)).messages, []);
});
