// The meet browser test's second page: a room as the original Rooms front-end (github
// faslkp/rooms, its RoomDetail page) uses the service, rewritten here without React. The query
// string names the service (`server`, its http:// base URL), the `token` and the `room` id.
//
// What it does the way that front-end does it:
// - two sockets on /ws/chat/{room}/?token=..., one for the chat and one for the video call;
// - its own user id read from the token's `user_id` claim;
// - the chat socket keeps frames with `content` and `user`; the video socket ignores frames
//   whose sender_id is its own and acts on `type` only;
// - "Start Call" sends {type: "webrtc-offer", sdp, sender_id}; "Answer" sends
//   {type: "webrtc-answer", sdp, sender_id}; every gathered candidate goes out as
//   {type: "webrtc-ice-candidate", candidate, sender_id} (the RTCIceCandidate, serialised by
//   JSON.stringify); "End" sends {type: "webrtc-hangup", sender_id};
// - the callee has no peer connection until it answers, and drops candidates that come before.
// Unlike it, no STUN server is configured (the test has no network): host candidates only.
// Everything the test checks is kept on `window.state`.
"use strict";

const params = new URLSearchParams(location.search);

/** The token's user_id claim, read the way the original front-end reads it. */
function userIdFromToken(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const data = JSON.parse(atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, "=")));
    return data.user_id ?? null;
  } catch {
    return null;
  }
}

const state = {
  me: userIdFromToken(params.get("token") || ""),
  sockets: { chat: "new", video: "new" },
  /** Chat messages the chat socket kept: {id, from, content}. */
  chat: [],
  /** Signal frames the video socket sent, as sent. */
  sent: [],
  /** Signal frames the video socket acted on: their type, sorted keys and sender_id. */
  received: [],
  /** Frames each socket left alone: chat on the video socket, signals on the chat socket. */
  ignored: { chatOnVideo: 0, signalsOnChat: 0, own: 0 },
  candidates: { added: 0, dropped: 0, failed: 0 },
  incoming: false,
  connectionState: "none",
  remoteTracks: [],
  errors: [],
};
globalThis.state = state;

document.getElementById("room").textContent = params.get("room");
document.getElementById("me").textContent = `user ${state.me}`;

function fail(what, err) {
  state.errors.push(`${what}: ${err && err.message ? err.message : err}`);
}

function render() {
  document.getElementById("incoming").hidden = !state.incoming;
  document.getElementById("status").textContent = `chat=${state.sockets.chat} ` +
    `video=${state.sockets.video} connection=${state.connectionState} ` +
    `remote=[${state.remoteTracks.join(",")}]`;
}

/** A socket on the room, as the original front-end opens it. */
function roomSocket(name, onFrame) {
  const url = new URL(`/ws/chat/${encodeURIComponent(params.get("room"))}/`, params.get("server"));
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.search = `?token=${encodeURIComponent(params.get("token") || "")}`;
  const socket = new WebSocket(url);
  state.sockets[name] = "connecting";
  socket.onopen = () => {
    state.sockets[name] = "open";
    render();
  };
  socket.onclose = () => {
    state.sockets[name] = "closed";
    render();
  };
  socket.onmessage = (event) => {
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch (err) {
      return fail(`${name} frame`, err);
    }
    Promise.resolve(onFrame(frame)).catch((err) => fail(`${name} ${frame.type}`, err));
  };
  return {
    sendJson(frame) {
      if (socket.readyState !== WebSocket.OPEN) return fail(name, "socket not open");
      socket.send(JSON.stringify(frame));
    },
  };
}

// --- Chat -------------------------------------------------------------------------------------

const chat = roomSocket("chat", (frame) => {
  if (!(frame && frame.content && frame.user)) {
    if (frame && typeof frame.type === "string") state.ignored.signalsOnChat++;
    return;
  }
  state.chat.push({ id: frame.id, from: frame.user.id, content: frame.content });
  const line = document.createElement("div");
  line.textContent = `${frame.user.name || frame.user.email}: ${frame.content}`;
  document.getElementById("chat").append(line);
});

globalThis.say = (content) => chat.sendJson({ content });

// --- Video ------------------------------------------------------------------------------------

let pc = null;
let localStream = null;
let pendingOfferSdp = null;

function sendSignal(frame) {
  const full = { ...frame, sender_id: state.me };
  // What JSON.stringify puts on the wire (an RTCIceCandidate becomes its toJSON()).
  state.sent.push(JSON.parse(JSON.stringify(full)));
  video.sendJson(full);
}

async function ensurePeer() {
  if (pc) return;
  pc = new RTCPeerConnection({ iceServers: [] });
  pc.onicecandidate = (event) => {
    if (event.candidate) sendSignal({ type: "webrtc-ice-candidate", candidate: event.candidate });
  };
  pc.ontrack = (event) => {
    state.remoteTracks.push(event.track.kind);
    document.getElementById("remote").srcObject = event.streams[0];
    render();
  };
  pc.onconnectionstatechange = () => {
    state.connectionState = pc ? pc.connectionState : "closed";
    render();
  };
  localStream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  document.getElementById("local").srcObject = localStream;
  for (const track of localStream.getTracks()) pc.addTrack(track, localStream);
}

function endPeer() {
  if (pc) pc.close();
  pc = null;
  if (localStream) { for (const track of localStream.getTracks()) track.stop(); }
  localStream = null;
  state.connectionState = "closed";
  state.incoming = false;
  pendingOfferSdp = null;
  render();
}

const video = roomSocket("video", async (frame) => {
  if (frame && frame.sender_id && state.me && String(frame.sender_id) === String(state.me)) {
    state.ignored.own++;
    return;
  }
  if (!frame || typeof frame.type !== "string" || !frame.type.startsWith("webrtc-")) {
    state.ignored.chatOnVideo++;
    return;
  }
  state.received.push({
    type: frame.type,
    keys: Object.keys(frame).sort(),
    sender_id: frame.sender_id,
  });
  if (frame.type === "webrtc-hangup") {
    endPeer();
  } else if (frame.type === "webrtc-offer" && frame.sdp) {
    state.incoming = true;
    pendingOfferSdp = frame.sdp;
    render();
  } else if (frame.type === "webrtc-answer" && frame.sdp) {
    await ensurePeer();
    await pc.setRemoteDescription({ type: "answer", sdp: frame.sdp });
  } else if (frame.type === "webrtc-ice-candidate" && frame.candidate) {
    if (!pc) {
      state.candidates.dropped++;
      return;
    }
    // As the original, a candidate the connection cannot take yet is let go.
    try {
      await pc.addIceCandidate(frame.candidate);
      state.candidates.added++;
    } catch {
      state.candidates.failed++;
    }
  }
});

document.getElementById("start").onclick = async () => {
  try {
    await ensurePeer();
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    sendSignal({ type: "webrtc-offer", sdp: offer.sdp });
  } catch (err) {
    fail("start call", err);
  }
};

document.getElementById("answer").onclick = async () => {
  if (!pendingOfferSdp) return;
  try {
    await ensurePeer();
    await pc.setRemoteDescription({ type: "offer", sdp: pendingOfferSdp });
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    sendSignal({ type: "webrtc-answer", sdp: answer.sdp });
    state.incoming = false;
    pendingOfferSdp = null;
    render();
  } catch (err) {
    fail("answer", err);
  }
};

document.getElementById("decline").onclick = () => {
  sendSignal({ type: "webrtc-hangup" });
  state.incoming = false;
  pendingOfferSdp = null;
  render();
};

document.getElementById("end").onclick = () => {
  sendSignal({ type: "webrtc-hangup" });
  endPeer();
};

render();
