// Lounge groups end to end: the core's group rooms, created, renamed by their owner, entered and
// left, talked in over the socket; a non-member sees none of it.
import assert from "node:assert/strict";
import {
  createRoom,
  engines,
  lounge,
  loungeOk,
  loungeSocket,
  person,
  startTestServer,
} from "../fixtures/mod.ts";

engines.test("a group is created for everyone to see, entered, talked in and left; a non-member hears nothing of it", async () => {
  await using srv = await startTestServer();
  const owner = await person(srv, { name: "Olga Owner" });
  const member = await person(srv, { name: "Mia Member" });
  const outsider = await person(srv);
  await using ownerSocket = await loungeSocket(srv, owner);
  await using memberSocket = await loungeSocket(srv, member);
  await using outsiderSocket = await loungeSocket(srv, outsider);

  const group = await loungeOk(srv, "POST", "/chat_groups", owner, { name: "Knitting" }, 201);
  const id = group.chat_group_id;
  assert.deepEqual(group, {
    chat_group_id: id,
    name: "Knitting",
    owner_id: owner.user.id,
    is_member: true,
  });
  const update = {
    type: "group_chat_update",
    chat_group_id: id,
    name: "Knitting",
    owner_id: owner.user.id,
  };
  for (const socket of [ownerSocket, memberSocket, outsiderSocket]) {
    assert.deepEqual(await socket.frame("group_chat_update"), update);
  }
  const listed = await loungeOk(srv, "GET", "/chat_groups", member);
  assert.deepEqual(listed.find((g: { chat_group_id: number }) => g.chat_group_id === id), {
    ...group,
    is_member: false,
  });

  // The owner talks alone first.
  ownerSocket.chat({ chat_type: "group", chat_group_id: id, message: "first" });
  await ownerSocket.frame("group_chat_message", (f) => f.message === "first");

  await loungeOk(srv, "POST", `/chat_groups/${id}`, member, { is_enter: true });
  const entered = await ownerSocket.frame("group_chat_activitity");
  assert.equal(entered.message, "Mia Member entered the group.");
  assert.equal(entered.user_id, member.user.id);
  const members = await loungeOk(srv, "GET", `/users/group/${id}`, outsider);
  assert.deepEqual(members.map((m: { user_id: number }) => m.user_id), [
    owner.user.id,
    member.user.id,
  ]);

  memberSocket.chat({ chat_type: "group", chat_group_id: id, message: "hi all" });
  const said = await ownerSocket.frame("group_chat_message", (f) => f.message === "hi all");
  assert.deepEqual(Object.keys(said).sort(), [
    "chat_group_id",
    "message",
    "timestamp",
    "type",
    "user_id",
  ]);
  assert.equal(said.user_id, member.user.id);
  assert.deepEqual(
    await memberSocket.frame("group_chat_message", (f) => f.message === "hi all"),
    said,
  );

  // Unread for the owner, per group, until marked read.
  const notes = await loungeOk(srv, "GET", "/notifications", owner);
  assert.deepEqual(notes, [{ chat_type: "group", chat_group_id: id, unread: 1 }]);
  await loungeOk(srv, "PUT", "/notifications", owner, { chat_group_id: id });
  assert.deepEqual(await loungeOk(srv, "GET", "/notifications", owner), []);

  await loungeOk(srv, "POST", `/chat_groups/${id}`, member, { is_enter: false });
  const left = await ownerSocket.frame("group_chat_activitity", (f) => !f.is_enter);
  assert.equal(left.message, "Mia Member left the group.");
  ownerSocket.chat({ chat_type: "group", chat_group_id: id, message: "after she left" });
  await ownerSocket.frame("group_chat_message", (f) => f.message === "after she left");
  memberSocket.chat({ chat_type: "group", chat_group_id: id, message: "can I still?" });
  assert.equal((await memberSocket.frame("error")).code, "permission_denied");

  // The history reads the same for anyone (groups are open), in the socket's shape.
  const history = await loungeOk(srv, "GET", `/chat_groups/${id}`, outsider);
  assert.deepEqual(history.map((m: { message: string }) => m.message), [
    "first",
    "hi all",
    "after she left",
  ]);

  await outsiderSocket.probe();
  await memberSocket.probe();
  assert.equal(outsiderSocket.all("group_chat_message").length, 0);
  assert.equal(outsiderSocket.all("group_chat_activitity").length, 0);
  assert.deepEqual(memberSocket.all("group_chat_message").map((f) => f.message), ["hi all"]);
  assert.deepEqual(await loungeOk(srv, "GET", "/notifications", outsider), []);
});

engines.test("only the owner renames a group (403 otherwise), by chat_group_id or by path, and everyone hears the new name", async () => {
  await using srv = await startTestServer();
  const owner = await person(srv);
  const other = await person(srv);
  await using watcher = await loungeSocket(srv, other);
  const { chat_group_id: id } = await loungeOk(
    srv,
    "POST",
    "/chat_groups",
    owner,
    { name: "Old" },
    201,
  );
  const refused = await lounge(srv, "PUT", "/chat_groups", other, {
    chat_group_id: id,
    name: "Mine",
  });
  assert.equal(refused.status, 403);
  const renamed = await loungeOk(srv, "PUT", "/chat_groups", owner, {
    chat_group_id: id,
    name: "New",
  });
  assert.equal(renamed.name, "New");
  const heard = await watcher.frame("group_chat_update", (f) => f.name === "New");
  assert.deepEqual(heard, {
    type: "group_chat_update",
    chat_group_id: id,
    name: "New",
    owner_id: owner.user.id,
  });
  await loungeOk(srv, "PUT", `/chat_groups/${id}`, owner, { name: "Newer" });
  assert.equal((await lounge(srv, "PUT", "/chat_groups", owner, { name: "No id" })).status, 400);
  assert.equal(
    (await lounge(srv, "PUT", "/chat_groups", owner, { chat_group_id: 987654, name: "x" })).status,
    404,
  );
});

engines.test("meet's rooms and lounge's groups are one model: each face lists the other's", async () => {
  await using srv = await startTestServer();
  const a = await person(srv);
  const meetRoom = await createRoom(srv, a, { name: "From meet" });
  const loungeGroup = await loungeOk(srv, "POST", "/chat_groups", a, { name: "From lounge" }, 201);
  const groups = await loungeOk(srv, "GET", "/chat_groups", a);
  assert.deepEqual(groups.map((g: { name: string }) => g.name), ["From meet", "From lounge"]);
  assert.equal(groups[0].chat_group_id, meetRoom.id);
  const meetList = await (await fetch(`${srv.url}/api/rooms/`, {
    headers: { authorization: `Bearer ${a.access}` },
  })).json();
  assert.ok(meetList.some((r: { id: number }) => r.id === loungeGroup.chat_group_id));
});
