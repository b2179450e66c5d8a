// Every face across nodes: two real service processes on one database and one Redis, real
// clients on each. What one node's client does reaches the other node's clients, as it would on
// one process: desk Socket.IO events, inbox frames and unread counts, meet chat and WebRTC
// signals, lounge direct messages (to a room announced a moment before) and activity, and a
// logout or deactivation on one node closing the sockets on the other.
import assert from "node:assert/strict";
import {
  api,
  ask,
  chatWith,
  Clients,
  type ClusterNode,
  createRoom,
  disconnected,
  expectChat,
  ignoreWithoutRedis,
  join,
  loungeOk,
  loungeSocket,
  newSession,
  next,
  nextWhere,
  notificationsOf,
  openRoom,
  type Person,
  person,
  startCluster,
  student,
  teacher,
  textFrame,
  waitFor,
} from "../fixtures/mod.ts";

const OFFER = { type: "offer", sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n" };

/** Whether `node` shows `userId` online to `viewer` (lounge's user list reads presence). */
async function shownOnline(node: ClusterNode, viewer: Person, userId: number): Promise<boolean> {
  const users: { user_id: number; is_online: boolean }[] = await loungeOk(
    node,
    "GET",
    "/users",
    viewer,
  );
  return users.find((u) => u.user_id === userId)?.is_online ?? false;
}

Deno.test({
  name: "every face's messages cross nodes",
  ignore: ignoreWithoutRedis("cluster faces"),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    await using cluster = await startCluster();
    const [a, b] = cluster.nodes;

    await t.step(
      "desk: a room announced on node A reaches a teacher on node B, and the chat goes both ways",
      async () => {
        using onA = new Clients(a);
        using onB = new Clients(b);
        const s = await student(a);
        const tch = await teacher(b);
        const room = await openRoom(a, s);
        const studentSocket = await onA.connect(s);
        const teacherSocket = await onB.connect(tch);
        // The teacher's other tab is on node A.
        const teacherTabOnA = await onA.connect(tch);

        const announced = nextWhere<{ id: number }>(
          teacherSocket,
          "new_room",
          (r) => r.id === room.id,
        );
        await ask(studentSocket, "new_room", { room: room.id });
        assert.equal((await announced).id, room.id);

        const joined = next(studentSocket, "room_joined");
        const otherTabJoined = next(teacherTabOnA, "room_joined");
        const reply = await ask(teacherSocket, "join_room", { room: room.id });
        assert.equal(reply?.error, undefined, JSON.stringify(reply));
        assert.equal((await joined).teacher.id, tch.user.id);
        assert.equal((await otherTabJoined).room, room.id);

        // Both of the teacher's tabs are in the room now, on either node.
        const toTeacher = next(teacherSocket, "message");
        const toOtherTab = next(teacherTabOnA, "message");
        await ask(studentSocket, "message", { room: room.id, text: "from node A" });
        assert.equal((await toTeacher).text, "from node A");
        assert.equal((await toOtherTab).text, "from node A");
        assert.deepEqual((await ask(teacherTabOnA, "rooms")).rooms, [room.id]);
        const toStudent = next(studentSocket, "message");
        await ask(teacherSocket, "message", { room: room.id, text: "from node B" });
        assert.equal((await toStudent).text, "from node B");
        const seen = next(studentSocket, "seen");
        await ask(teacherSocket, "seen", { room: room.id });
        assert.equal((await seen).user, tch.user.id);
        // The student's only socket (on A) goes: the teacher (on B) hears it from presence.
        const offline = nextWhere<{ user: number }>(
          teacherSocket,
          "offline",
          (p) => p.user === s.user.id,
        );
        studentSocket.disconnect();
        await offline;
      },
    );

    await t.step(
      "desk: a room a student opens over REST on node A takes in the student's tab on node B",
      async () => {
        using onA = new Clients(a);
        using onB = new Clients(b);
        const s = await student(a);
        const tch = await teacher(a);
        const tabOnB = await onB.connect(s);
        const opened = await api(a, "POST", "/api/room/", {
          token: s.access,
          body: { text: "Opened on A" },
        });
        assert.equal(opened.status, 201, JSON.stringify(opened.body));
        const roomId = opened.body.id;
        // The tab on B is in the room: it hears the teacher join and write (both on node A).
        await waitFor(async () => (await ask(tabOnB, "rooms")).rooms.includes(roomId), {
          what: "the student's tab on node B in the new room",
        });
        const teacherOnA = await onA.connect(tch);
        const heard = nextWhere<{ text: string }>(tabOnB, "message", (m) => m.text === "hi");
        assert.equal((await ask(teacherOnA, "join_room", { room: roomId }))?.error, undefined);
        await ask(teacherOnA, "message", { room: roomId, text: "hi" });
        assert.equal((await heard).text, "hi");
      },
    );

    await t.step("inbox: chat, join and leave, and unread counts across nodes", async () => {
      const ann = await person(a, { username: `ann${Date.now()}` });
      const bob = await person(b, { username: `bob${Date.now()}` });
      await using annChat = await chatWith(a, ann, bob.user.username);
      await using bobCounts = await notificationsOf(b, bob);
      assert.equal((await bobCounts.frame("unread_count")).unread_count, 0);
      // Ann is online (on node A) before Bob opens the conversation on node B.
      await waitFor(() => shownOnline(b, bob, ann.user.id), { what: "ann online on B" });
      const bobChat = await chatWith(b, bob, ann.user.username);
      const list = await bobChat.frame("online_user_list");
      assert.ok(list.users.includes(ann.user.username), JSON.stringify(list));
      // (Ann's own user_join came first.)
      while ((await annChat.frame("user_join")).user !== bob.user.username) { /* ann's own */ }

      annChat.send(textFrame("hello from A", bob.user.username));
      const got = await bobChat.frame("chat_message");
      assert.equal(got.message, "hello from A");
      assert.equal((await annChat.frame("chat_message")).id, got.id);
      await bobCounts.frame("new_message_notification");
      while ((await bobCounts.frame("unread_count")).unread_count !== 1) { /* older count */ }

      bobChat.send({ type: "read_messages" });
      while ((await bobCounts.frame("unread_count")).unread_count !== 0) { /* older count */ }
      // Bob's last socket onto the conversation closes on B: Ann hears it on A.
      await bobChat.close();
      assert.equal((await annChat.frame("user_leave")).user, bob.user.username);
    });

    await t.step("meet: chat and WebRTC signals (targeted too) cross nodes", async () => {
      const ann = await person(a);
      const bob = await person(b);
      const room = await createRoom(a, ann, { room_type: "video" });
      await using sa = await join(a, ann, room.id);
      await using sb = await join(b, bob, room.id);
      sa.say("chat from A");
      await expectChat(sb, "chat from A");
      await expectChat(sa, "chat from A");
      sb.send({ type: "webrtc-offer", offer: OFFER, target: ann.user.id });
      assert.deepEqual(await sa.nextJson(), {
        type: "webrtc-offer",
        offer: OFFER,
        target: ann.user.id,
        sender_id: bob.user.id,
      });
      sa.send({ type: "webrtc-hangup" });
      assert.deepEqual(await sb.nextJson(), { type: "webrtc-hangup", sender_id: ann.user.id });
    });

    await t.step(
      "lounge: a first direct message reaches the other node (its room announced a moment before), and activity crosses",
      async () => {
        const ann = await person(a);
        const bob = await person(b);
        await using annSocket = await loungeSocket(a, ann);
        await using bobSocket = await loungeSocket(b, bob);
        annSocket.chat({ chat_type: "room", other_user_id: bob.user.id, message: "first, from A" });
        const got = await bobSocket.frame("room_chat_message");
        assert.equal(got.message, "first, from A");
        assert.equal(got.user_id, ann.user.id);
        bobSocket.chat({ chat_type: "room", other_user_id: ann.user.id, message: "reply from B" });
        await annSocket.frame("room_chat_message", (f) => f.message === "reply from B");

        const cat = await person(a);
        const catSocket = await loungeSocket(a, cat);
        await bobSocket.frame("user_activity", (f) => f.user_id === cat.user.id && f.login);
        await catSocket.close();
        await bobSocket.frame("user_activity", (f) => f.user_id === cat.user.id && !f.login);
      },
    );

    await t.step(
      "logout on node A closes that session's sockets on node B; deactivation closes them all",
      async () => {
        const dan = await person(a);
        const other = await newSession(a, dan);
        const room = await createRoom(a, dan);
        using onB = new Clients(b);
        const meetOnB = await join(b, dan, room.id);
        const deskOnB = await onB.connect(dan);
        const otherOnB = await join(b, other, room.id);
        const deskGone = disconnected(deskOnB);

        assert.equal((await api(a, "POST", "/auth/logout/", { token: dan.access })).status, 200);
        assert.equal((await meetOnB.closedBy()).code, 4401);
        await deskGone;
        // The other session is still open.
        otherOnB.say("still here");
        await expectChat(otherOnB, "still here");

        assert.equal(
          (await api(a, "DELETE", "/auth/profile/", { token: other.access })).status,
          204,
        );
        assert.equal((await otherOnB.closedBy()).code, 4401);
      },
    );
  },
});
