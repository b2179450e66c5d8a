// The desk chat page: plain browser JavaScript, no build step. REST (same-origin, the session
// cookie) for lists and history, Socket.IO (the bundle the server serves, cookie auth) for
// everything live. Every piece of user text reaches the DOM through textContent.
(() => {
  "use strict";

  const me = JSON.parse(document.getElementById("me").textContent);
  const teacher = me.role === "teacher";
  const ACK_TIMEOUT = 10000;
  const STATUS_LABEL = { active: "Waiting", engaged: "In progress", closed: "Closed" };
  const AVATAR = "/static/avatar.svg";

  /** @type {(id: string) => HTMLElement} */
  const $ = (id) => document.getElementById(id);

  const state = {
    /** id → room, in the REST shape (status and teacher kept up to date by events). */
    rooms: new Map(),
    /** room id → messages (oldest first) once loaded; each {id, text, image, seen, timestamp, room, user}. */
    messages: new Map(),
    /** room id → messages from the other person not yet viewed. */
    unread: new Map(),
    /** user id → true (online) / false (offline); unknown when absent. */
    presence: new Map(),
    /** The open room's id, or null. */
    current: null,
    /** Rooms whose `seen` is in flight. */
    marking: new Set(),
    everConnected: false,
  };

  // ---------------------------------------------------------------- small helpers

  /** An element with text (always textContent), classes and attributes. */
  function el(tag, options = {}, children = []) {
    const node = document.createElement(tag);
    if (options.className) node.className = options.className;
    if (options.text !== undefined) node.textContent = String(options.text);
    for (const [name, value] of Object.entries(options.attrs ?? {})) {
      if (value !== undefined && value !== null && value !== false) {
        node.setAttribute(name, String(value));
      }
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function fullName(person) {
    if (!person) return "";
    const name = `${person.first_name ?? ""} ${person.last_name ?? ""}`.trim();
    return name || `User #${person.id}`;
  }

  /** An image URL that is safe to put in src: http(s), same-origin paths, data:image. */
  function safeImage(url) {
    if (typeof url !== "string" || url === "") return "";
    if (/^data:image\//i.test(url)) return url;
    try {
      const parsed = new URL(url, location.href);
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : "";
    } catch {
      return "";
    }
  }

  function avatar(person, className = "avatar") {
    const img = el("img", { className, attrs: { alt: "", loading: "lazy" } });
    img.src = safeImage(person?.image) || AVATAR;
    img.addEventListener("error", () => {
      if (!img.src.endsWith(AVATAR)) img.src = AVATAR;
    }, { once: true });
    return img;
  }

  function formatTime(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return "";
    const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    if (date.toDateString() === new Date().toDateString()) return time;
    return `${date.toLocaleDateString([], { month: "short", day: "numeric" })} ${time}`;
  }

  let statusTimer;
  /** The small status line: refusals, connection trouble, notices. */
  function showStatus(text, kind = "info") {
    const line = $("status-line");
    line.textContent = text;
    line.dataset.kind = kind;
    line.hidden = false;
    clearTimeout(statusTimer);
    statusTimer = setTimeout(() => (line.hidden = true), kind === "error" ? 10000 : 5000);
  }

  function refusalText(reply) {
    const error = reply?.error ?? reply;
    if (!error) return "Something went wrong.";
    if (typeof error === "string") return error;
    if (error.fields) {
      const parts = Object.values(error.fields).flat();
      if (parts.length > 0) return parts.join(" ");
    }
    return error.detail || error.message || "Something went wrong.";
  }

  // ---------------------------------------------------------------- REST

  async function api(path, options = {}) {
    const response = await fetch(path, {
      credentials: "same-origin",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      ...options,
    });
    if (response.status === 401) {
      location.assign("/login/");
      throw new Error("Your session has ended.");
    }
    let body = null;
    try {
      body = await response.json();
    } catch {
      // No JSON body.
    }
    if (!response.ok) {
      let message = `Request failed (${response.status}).`;
      if (body && typeof body.detail === "string") message = body.detail;
      else if (body && typeof body === "object") {
        const parts = Object.values(body).flat().filter((v) => typeof v === "string");
        if (parts.length > 0) message = parts.join(" ");
      }
      throw new Error(message);
    }
    return body;
  }

  async function loadRooms() {
    const list = await api("/api/room/");
    const seen = new Set();
    for (const room of list) {
      seen.add(room.id);
      state.rooms.set(room.id, room);
    }
    // Gone from the list: another teacher took a waiting room.
    for (const id of [...state.rooms.keys()]) {
      if (seen.has(id)) continue;
      state.rooms.delete(id);
      if (id === state.current) state.current = null;
    }
    renderRooms();
    renderChat();
  }

  /** Whether this user may read the room's messages (a teacher only once they hold it). */
  function canRead(room) {
    return !teacher || room.teacher?.id === me.id;
  }

  async function loadMessages(roomId) {
    const room = state.rooms.get(roomId);
    if (!room || !canRead(room)) return;
    const list = await api(`/api/${roomId}/messages/`);
    // Merge with anything that arrived live while the request was out.
    const byId = new Map(list.map((m) => [m.id, m]));
    for (const m of state.messages.get(roomId) ?? []) {
      if (!byId.has(m.id)) byId.set(m.id, m);
      else if (m.seen) byId.get(m.id).seen = true;
    }
    state.messages.set(roomId, [...byId.values()].sort((a, b) => a.id - b.id));
    if (roomId === state.current) {
      renderChat();
      markSeen(roomId);
    }
  }

  // ---------------------------------------------------------------- rooms and messages

  function peerOf(room) {
    return teacher ? room.student : room.teacher;
  }

  function addMessage(message) {
    const list = state.messages.get(message.room);
    if (!list) return false;
    const existing = list.find((m) => m.id === message.id);
    if (existing) return false;
    list.push({ seen: false, ...message });
    list.sort((a, b) => a.id - b.id);
    return true;
  }

  function sortedRooms(filter) {
    return [...state.rooms.values()].filter(filter).sort((a, b) =>
      b.timestamp.localeCompare(a.timestamp) || b.id - a.id
    );
  }

  function roomItem(room) {
    const peer = peerOf(room);
    let sub;
    if (teacher) sub = fullName(room.student);
    else sub = room.teacher ? `with ${fullName(room.teacher)}` : "Waiting for a teacher";
    const unread = state.unread.get(room.id) ?? 0;
    const button = el("button", {
      className: "room-item",
      attrs: {
        type: "button",
        "data-room-id": room.id,
        "data-status": room.status,
        "data-testid": "room-item",
        "aria-current": room.id === state.current ? "true" : "false",
      },
    }, [
      avatar(peer),
      el("span", { className: "room-main" }, [
        el("span", { className: "room-title", text: room.text || "(image)" }),
        el("span", { className: "room-sub", text: sub }),
      ]),
      el("span", { className: "room-side" }, [
        el("span", {
          className: "status-badge",
          text: STATUS_LABEL[room.status] ?? room.status,
          attrs: { "data-status": room.status },
        }),
        unread > 0
          ? el("span", { className: "unread", text: unread, attrs: { "data-testid": "unread" } })
          : null,
      ]),
    ]);
    button.addEventListener("click", () => openRoom(room.id));
    return el("li", {}, [button]);
  }

  function renderRooms() {
    if (teacher) {
      const waiting = sortedRooms((r) => r.status === "active" && r.teacher?.id !== me.id);
      $("waiting-list").replaceChildren(...waiting.map(roomItem));
      $("waiting-empty").hidden = waiting.length > 0;
      $("waiting-count").textContent = String(waiting.length);
      $("waiting-count").classList.toggle("has-items", waiting.length > 0);
      const mine = sortedRooms((r) => r.teacher?.id === me.id);
      $("room-list").replaceChildren(...mine.map(roomItem));
      $("rooms-empty").hidden = mine.length > 0;
    } else {
      const mine = sortedRooms(() => true);
      $("room-list").replaceChildren(...mine.map(roomItem));
      $("rooms-empty").hidden = mine.length > 0;
    }
  }

  function messageItem(message) {
    const mine = message.user === me.id;
    const bubble = el("div", { className: "bubble" }, [
      message.text ? el("p", { className: "msg-text", text: message.text }) : null,
    ]);
    const image = safeImage(message.image);
    if (image) {
      const img = el("img", { className: "msg-image", attrs: { alt: "Image", loading: "lazy" } });
      img.src = image;
      bubble.append(img);
    }
    const meta = el("div", { className: "meta" }, [
      el("time", { text: formatTime(message.timestamp), attrs: { datetime: message.timestamp } }),
    ]);
    if (mine) {
      meta.append(el("span", {
        className: "seen-marker",
        text: message.seen ? "Seen" : "Sent",
        attrs: { "data-testid": "seen-marker", "data-seen": message.seen ? "true" : "false" },
      }));
    }
    return el("li", {
      className: mine ? "msg mine" : "msg theirs",
      attrs: {
        "data-testid": "message",
        "data-message-id": message.id,
        "data-mine": mine ? "true" : "false",
      },
    }, [bubble, meta]);
  }

  function renderPresence(room) {
    const badge = $("peer-presence");
    const peer = peerOf(room);
    const known = peer ? state.presence.get(peer.id) : undefined;
    // A closed room no longer hears presence events: what it knew would go stale.
    if (!peer || known === undefined || room.status === "closed") {
      badge.hidden = true;
      badge.dataset.state = "unknown";
      return;
    }
    badge.hidden = false;
    badge.dataset.state = known ? "online" : "offline";
    badge.textContent = known ? "Online" : "Offline";
  }

  function renderChat() {
    const room = state.current === null ? undefined : state.rooms.get(state.current);
    document.body.classList.toggle("room-open", Boolean(room));
    $("chat-empty").hidden = Boolean(room);
    $("chat-panel").hidden = !room;
    if (!room) return;
    $("chat-panel").dataset.roomId = String(room.id);

    const peer = peerOf(room);
    $("peer-name").textContent = peer
      ? fullName(peer)
      : (teacher ? "Student" : "Waiting for a teacher");
    $("peer-avatar").src = safeImage(peer?.image) || AVATAR;
    const status = $("room-status");
    status.textContent = STATUS_LABEL[room.status] ?? room.status;
    status.dataset.status = room.status;
    renderPresence(room);

    $("room-question-text").textContent = room.text || "(image)";
    $("room-question-meta").textContent = `${fullName(room.student)} · ${
      formatTime(room.timestamp)
    }`;

    const holds = teacher && room.teacher?.id === me.id;
    const closed = room.status === "closed";
    const scroller = $("message-scroll");
    const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
    const messages = state.messages.get(room.id) ?? [];
    $("messages").replaceChildren(...messages.map(messageItem));
    if (atBottom || scroller.dataset.roomId !== String(room.id)) {
      scroller.scrollTop = scroller.scrollHeight;
      scroller.dataset.roomId = String(room.id);
    }

    $("close-button").hidden = !(holds && room.status === "engaged");
    $("closed-notice").hidden = !closed;
    $("waiting-notice").hidden = teacher || room.status !== "active";
    const mustJoin = teacher && !holds;
    $("join-bar").hidden = !(mustJoin && room.status === "active");
    $("message-form").hidden = mustJoin;
    $("message-input").disabled = closed;
    $("send-button").disabled = closed;
    $("message-input").placeholder = closed ? "This room is closed." : "Write a message…";
  }

  function openRoom(roomId) {
    if (!state.rooms.has(roomId)) return;
    state.current = roomId;
    state.unread.delete(roomId);
    history.replaceState(null, "", `#room-${roomId}`);
    renderRooms();
    renderChat();
    if (!state.messages.has(roomId)) {
      loadMessages(roomId).catch((err) => showStatus(err.message, "error"));
    } else markSeen(roomId);
    if (!$("message-input").disabled && matchMedia("(min-width: 761px)").matches) {
      $("message-input").focus();
    }
  }

  function closeRoomView() {
    state.current = null;
    history.replaceState(null, "", location.pathname);
    renderRooms();
    renderChat();
  }

  /** Tells the server this user has read the open room, when there is something new to read. */
  function markSeen(roomId) {
    if (roomId !== state.current || document.visibilityState !== "visible") return;
    const room = state.rooms.get(roomId);
    if (!room || !canRead(room) || state.marking.has(roomId) || !socket.connected) return;
    const unseen = (state.messages.get(roomId) ?? []).filter((m) => m.user !== me.id && !m.seen);
    if (unseen.length === 0) return;
    state.marking.add(roomId);
    socket.timeout(ACK_TIMEOUT).emit("seen", { room: roomId }, (err, reply) => {
      state.marking.delete(roomId);
      if (err || reply?.error) return;
      for (const m of unseen) m.seen = true;
      // Anything that came in meanwhile gets its own round.
      markSeen(roomId);
    });
  }

  function setPresence(userId, online) {
    if (userId === me.id) return;
    state.presence.set(userId, online);
    const room = state.current === null ? undefined : state.rooms.get(state.current);
    if (room) renderPresence(room);
  }

  // ---------------------------------------------------------------- Socket.IO

  const connection = $("connection");
  function setConnection(kind, text) {
    connection.dataset.state = kind;
    connection.textContent = text;
  }

  // No access_token: the server authenticates this same-origin socket by the session cookie.
  // `recover`: after a short drop the server replays what we missed (connection state recovery).
  const socket = io({ auth: { id: me.id, recover: true } });

  /** Set when the user leaves on purpose (logout): nothing to recover then. */
  let leaving = false;

  /** After the server dropped us: back to /login/ if the session is over, else reconnect. */
  async function recheckSession() {
    if (leaving) return;
    try {
      await api("/api/room/");
      setTimeout(() => socket.connect(), 2000);
    } catch {
      // api() already went to /login/ on 401; otherwise try again later.
      setTimeout(recheckSession, 5000);
    }
  }

  socket.on("connect", () => {
    setConnection("online", "Connected");
    if (state.everConnected) {
      // Catch up with whatever happened while we were away.
      loadRooms().catch((err) => showStatus(err.message, "error"));
      if (state.current !== null) {
        loadMessages(state.current).catch((err) => showStatus(err.message, "error"));
      }
    }
    state.everConnected = true;
  });

  socket.on("disconnect", (reason) => {
    setConnection("offline", socket.active ? "Reconnecting…" : "Offline");
    if (reason === "io server disconnect") recheckSession();
  });

  socket.on("connect_error", (err) => {
    setConnection("offline", "Offline");
    showStatus(`Cannot connect: ${err.message}`, "error");
    // A refusal by the server is not retried by the client itself.
    if (!socket.active) recheckSession();
  });

  socket.on("new_room", (room) => {
    if (!teacher || !room || typeof room.id !== "number") return;
    if (room.student) setPresence(room.student.id, true);
    if (state.rooms.has(room.id) || room.status !== "active") return;
    state.rooms.set(room.id, room);
    renderRooms();
    showStatus(`New question from ${fullName(room.student)}.`);
  });

  socket.on("room_joined", ({ room: roomId, teacher: who, status }) => {
    const room = state.rooms.get(roomId);
    if (!room) return void loadRooms().catch(() => {});
    room.status = status;
    room.teacher = { email: "", ...room.teacher, ...who };
    if (who) setPresence(who.id, true);
    if (teacher && who?.id !== me.id) {
      // Another teacher took it.
      if (state.current !== roomId) state.rooms.delete(roomId);
    } else if (!teacher) {
      showStatus(`${fullName(who)} joined your room.`);
    }
    renderRooms();
    renderChat();
  });

  socket.on("room_closed", ({ room: roomId, status }) => {
    const room = state.rooms.get(roomId);
    if (!room) return;
    room.status = status || "closed";
    renderRooms();
    renderChat();
  });

  socket.on("message", (message) => {
    if (!message || typeof message.room !== "number") return;
    if (!state.rooms.has(message.room)) {
      loadRooms().catch(() => {});
      return;
    }
    const fromPeer = message.user !== me.id;
    if (fromPeer) setPresence(message.user, true);
    if (!state.messages.has(message.room) && message.room === state.current) {
      state.messages.set(message.room, []);
    }
    const added = addMessage(message);
    if (!added && state.messages.has(message.room)) return;
    if (message.room === state.current) {
      renderChat();
      if (fromPeer) {
        if (document.visibilityState === "visible") markSeen(message.room);
      }
    } else if (fromPeer) {
      state.unread.set(message.room, (state.unread.get(message.room) ?? 0) + 1);
      renderRooms();
    }
  });

  socket.on("seen", ({ room: roomId, user }) => {
    if (user === me.id) return;
    setPresence(user, true);
    const list = state.messages.get(roomId);
    if (!list) return;
    let changed = false;
    for (const m of list) {
      if (m.user === me.id && !m.seen) {
        m.seen = true;
        changed = true;
      }
    }
    if (changed && roomId === state.current) renderChat();
  });

  socket.on("online", ({ user }) => setPresence(user, true));
  socket.on("offline", ({ user }) => setPresence(user, false));

  socket.on("error", (reply) => showStatus(refusalText(reply), "error"));

  // ---------------------------------------------------------------- forms and buttons

  $("ask-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("ask-text");
    const text = input.value;
    if (!text.trim()) {
      showStatus("Write your question first.", "error");
      return;
    }
    $("ask-button").disabled = true;
    try {
      const room = await api("/api/room/", {
        method: "POST",
        body: JSON.stringify({ text, image: "" }),
      });
      input.value = "";
      state.rooms.set(room.id, room);
      state.messages.set(room.id, []);
      openRoom(room.id);
      socket.timeout(ACK_TIMEOUT).emit("new_room", { room: room.id }, (err, reply) => {
        if (err) showStatus("The teachers could not be told yet; they will see it soon.", "error");
        else if (reply?.error) showStatus(refusalText(reply), "error");
      });
    } catch (err) {
      showStatus(err.message, "error");
    } finally {
      $("ask-button").disabled = false;
    }
  });

  $("message-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const roomId = state.current;
    const input = $("message-input");
    const text = input.value;
    if (roomId === null || input.disabled) return;
    if (!text.trim()) return;
    const button = $("send-button");
    button.disabled = true;
    socket.timeout(ACK_TIMEOUT).emit("message", { text, image: "", room: roomId }, (err, reply) => {
      const room = state.rooms.get(roomId);
      button.disabled = room?.status === "closed";
      if (err) {
        showStatus("No answer from the server: the message may not have been sent.", "error");
        return;
      }
      if (reply?.error) {
        showStatus(refusalText(reply), "error");
        return;
      }
      if (input.value === text) input.value = "";
      if (!state.messages.has(roomId)) state.messages.set(roomId, []);
      if (addMessage(reply) && roomId === state.current) renderChat();
      autosize();
    });
  });

  const messageInput = $("message-input");
  function autosize() {
    messageInput.style.height = "auto";
    messageInput.style.height = `${Math.min(messageInput.scrollHeight + 2, 160)}px`;
  }
  messageInput.addEventListener("input", autosize);
  messageInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("message-form").requestSubmit();
    }
  });

  $("join-button").addEventListener("click", () => {
    const roomId = state.current;
    if (roomId === null) return;
    const button = $("join-button");
    button.disabled = true;
    socket.timeout(ACK_TIMEOUT).emit("join_room", { room: roomId }, (err, reply) => {
      button.disabled = false;
      if (err) return showStatus("No answer from the server. Try again.", "error");
      if (reply?.error) {
        showStatus(refusalText(reply), "error");
        loadRooms().catch(() => {});
        return;
      }
      const room = state.rooms.get(roomId);
      if (room) {
        room.status = reply.status;
        room.teacher = room.teacher?.id === me.id ? room.teacher : {
          id: me.id,
          first_name: me.first_name,
          last_name: me.last_name,
          email: "",
          image: AVATAR,
        };
      }
      if (room?.student) setPresence(room.student.id, state.presence.get(room.student.id) ?? true);
      renderRooms();
      renderChat();
      loadMessages(roomId).catch((e) => showStatus(e.message, "error"));
    });
  });

  $("close-button").addEventListener("click", () => {
    const roomId = state.current;
    if (roomId === null) return;
    const button = $("close-button");
    button.disabled = true;
    socket.timeout(ACK_TIMEOUT).emit("close_room", { room: roomId }, (err, reply) => {
      button.disabled = false;
      if (err) return showStatus("No answer from the server. Try again.", "error");
      if (reply?.error) return showStatus(refusalText(reply), "error");
      const room = state.rooms.get(roomId);
      if (room) room.status = reply.status || "closed";
      renderRooms();
      renderChat();
    });
  });

  $("back-button").addEventListener("click", closeRoomView);
  // Logging out ends this session on the server, which drops its sockets: leave first, so the
  // page does not take that for a lost connection.
  $("logout-link").addEventListener("click", () => {
    leaving = true;
    socket.disconnect();
  });

  // Leaving the page says goodbye at once (the others see "offline" without waiting for a
  // timeout); coming back from the back/forward cache reconnects.
  addEventListener("pagehide", () => socket.disconnect());
  addEventListener("pageshow", (event) => {
    if (event.persisted) socket.connect();
  });

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && state.current !== null) markSeen(state.current);
  });

  // ---------------------------------------------------------------- start

  $("me-name").textContent = fullName(me) === `User #${me.id}` ? me.username : fullName(me);
  $("me-role").textContent = me.role;
  $("ask-form").hidden = teacher;
  $("waiting-section").hidden = !teacher;
  $("rooms-title").textContent = teacher ? "Your rooms" : "Your questions";
  $("rooms-empty").textContent = teacher ? "You have not joined a room yet." : "No questions yet.";
  $("chat-empty").textContent = teacher
    ? "Pick a waiting question to help, or one of your rooms."
    : "Ask a question, or pick one of yours to see the conversation.";
  document.body.dataset.role = me.role;

  loadRooms().then(() => {
    const wanted = /^#room-(\d+)$/.exec(location.hash);
    if (wanted && state.rooms.has(Number(wanted[1]))) openRoom(Number(wanted[1]));
    document.body.dataset.ready = "true";
  }).catch((err) => showStatus(err.message, "error"));
})();
