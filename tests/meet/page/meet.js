// The meet browser test's page: one side of a two-person call, signalled only through the
// service's room WebSocket (/ws/chat/{room}/?token=...). The query string names the service
// (`server`, its http:// base URL), the `token`, the `room` id and the `role` ("caller" or
// "callee"). Everything the test needs to know is kept on `window.state`.
//
// Handshake: getUserMedia first, then the socket. Once it is open, each side sends a chat
// message "meet:hello:<role>:<nonce>"; its own echo tells a page its user id. The callee
// answers every caller hello with a hello of its own, so it does not matter who connects
// first: the caller offers (once) when it sees a callee's hello, addressed with `target` to
// that user. The callee answers the offer's `sender_id`; ICE candidates follow both ways,
// held back until the remote description is set. Only loopback host candidates are sent.
// Hanging up is the one signal sent to the whole room, without a target.
"use strict";

const params = new URLSearchParams(location.search);
const role = params.get("role") === "caller" ? "caller" : "callee";
const nonce = Math.random().toString(36).slice(2, 10);
const HELLO = "meet:hello:";

const state = {
  role,
  /** This page's user id, from the echo of its own hello. */
  me: null,
  /** The other side's user id. */
  peer: null,
  socket: "new",
  socketClose: null,
  connectionState: "new",
  iceConnectionState: "new",
  signalingState: "new",
  iceGatheringState: "new",
  localTracks: [],
  remoteTracks: [],
  sent: { hello: 0, offer: 0, answer: 0, candidates: 0, hangup: 0 },
  received: { chat: 0, offer: 0, answer: 0, candidates: 0, hangup: 0 },
  /** Candidates not sent because they are not on a loopback address. */
  skippedCandidates: [],
  /** The user id whose webrtc-hangup ended the call. */
  hungUpBy: null,
  errors: [],
  log: [],
};
globalThis.state = state;

const logBox = document.getElementById("log");
const statusBox = document.getElementById("status");
document.getElementById("role").textContent = role;

function log(line) {
  const entry = `${(performance.now() / 1000).toFixed(3)} ${line}`;
  state.log.push(entry);
  logBox.textContent += entry + "\n";
  render();
}

function fail(what, err) {
  const text = `${what}: ${err && err.message ? err.message : err}`;
  state.errors.push(text);
  log(`ERROR ${text}`);
}

function render() {
  statusBox.textContent = `me=${state.me} peer=${state.peer} socket=${state.socket} ` +
    `connection=${state.connectionState} ice=${state.iceConnectionState} ` +
    `remote=[${state.remoteTracks.map((t) => t.kind).join(",")}]`;
}

/** 127.0.0.0/8 or ::1, from a candidate line ("candidate:... udp 2122 127.0.0.1 5000 typ host"). */
function isLoopback(candidateLine) {
  const address = (candidateLine.split(" ")[4] || "").replace(/^\[|\]$/g, "");
  return /^127\./.test(address) || address === "::1";
}

let ws;
let pc;
let offered = false;
const pendingCandidates = [];

function send(message) {
  if (!ws || ws.readyState !== WebSocket.OPEN) {
    fail("send", `socket not open for ${message.type || "chat"}`);
    return;
  }
  ws.send(JSON.stringify(message));
}

function signal(type, body) {
  send({ type, ...body, target: state.peer });
}

function sayHello() {
  state.sent.hello++;
  send({ content: `${HELLO}${role}:${nonce}` });
}

async function flushCandidates() {
  while (pendingCandidates.length > 0) {
    const candidate = pendingCandidates.shift();
    try {
      await pc.addIceCandidate(candidate);
    } catch (err) {
      fail("addIceCandidate", err);
    }
  }
}

async function makeOffer() {
  offered = true;
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  state.sent.offer++;
  signal("webrtc-offer", { offer: { type: offer.type, sdp: offer.sdp } });
  log(`sent offer to ${state.peer}`);
}

async function takeOffer(message) {
  state.peer = message.sender_id;
  await pc.setRemoteDescription(message.offer);
  await flushCandidates();
  const answer = await pc.createAnswer();
  await pc.setLocalDescription(answer);
  state.sent.answer++;
  signal("webrtc-answer", { answer: { type: answer.type, sdp: answer.sdp } });
  log(`sent answer to ${state.peer}`);
}

function onChat(message) {
  state.received.chat++;
  const content = String(message.content);
  if (!content.startsWith(HELLO)) return;
  const [helloRole, helloNonce] = content.slice(HELLO.length).split(":");
  const from = message.user && message.user.id;
  if (helloNonce === nonce) {
    state.me = from;
    log(`my hello came back: I am user ${from}`);
    return;
  }
  log(`hello from ${helloRole} ${from}`);
  if (role === "callee" && helloRole === "caller") {
    sayHello(); // the caller may have connected after my first hello
  } else if (role === "caller" && helloRole === "callee" && !offered) {
    state.peer = from;
    makeOffer().catch((err) => fail("offer", err));
  }
}

function onSignal(message) {
  const from = message.sender_id;
  if (from === undefined || from === null) fail(message.type, "no sender_id");
  if (state.me !== null && from === state.me) fail(message.type, "my own signal came back");
  if (state.peer !== null && message.type !== "webrtc-offer" && from !== state.peer) {
    fail(message.type, `sender_id ${JSON.stringify(from)} is not my peer ${state.peer}`);
  }
  switch (message.type) {
    case "webrtc-offer":
      state.received.offer++;
      log(`offer from ${from}`);
      if (role !== "callee") return fail("webrtc-offer", "the caller got an offer");
      takeOffer(message).catch((err) => fail("answer", err));
      break;
    case "webrtc-answer":
      state.received.answer++;
      log(`answer from ${from}`);
      pc.setRemoteDescription(message.answer).then(flushCandidates)
        .catch((err) => fail("setRemoteDescription(answer)", err));
      break;
    case "webrtc-ice-candidate":
      state.received.candidates++;
      pendingCandidates.push(message.candidate);
      if (pc.remoteDescription) flushCandidates();
      break;
    case "webrtc-hangup":
      state.received.hangup++;
      state.hungUpBy = from;
      log(`hangup from ${from}`);
      closeCall();
      break;
    default:
      fail("signal", `unknown type ${message.type}`);
  }
}

function closeCall() {
  if (!pc) return;
  pc.close();
  state.connectionState = pc.connectionState; // "closed"; close() fires no event
  state.signalingState = pc.signalingState;
  render();
}

/** Hangs up: tells the room (no target, exactly as the spec shows it), then closes this side. */
globalThis.hangUp = () => {
  state.sent.hangup++;
  send({ type: "webrtc-hangup" });
  closeCall();
};

/** The numbers the test checks once connected: decoded video and the candidate pair in use. */
globalThis.mediaStats = async () => {
  const stats = await pc.getStats();
  const result = { framesDecoded: 0, bytesReceived: 0, pair: null };
  let pairId = null;
  stats.forEach((report) => {
    if (report.type === "inbound-rtp" && report.kind === "video") {
      result.framesDecoded += report.framesDecoded || 0;
      result.bytesReceived += report.bytesReceived || 0;
    }
    if (report.type === "transport" && report.selectedCandidatePairId) {
      pairId = report.selectedCandidatePairId;
    }
  });
  const pair = pairId && stats.get(pairId);
  if (pair) {
    const side = (id) => {
      const c = stats.get(id);
      return c && { address: c.address, port: c.port, type: c.candidateType, protocol: c.protocol };
    };
    result.pair = {
      state: pair.state,
      local: side(pair.localCandidateId),
      remote: side(pair.remoteCandidateId),
    };
  }
  const remote = document.getElementById("remote");
  result.videoWidth = remote.videoWidth;
  result.videoHeight = remote.videoHeight;
  return result;
};

async function start() {
  const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  document.getElementById("local").srcObject = stream;
  state.localTracks = stream.getTracks().map((t) => ({ kind: t.kind, label: t.label }));
  log(`local tracks: ${state.localTracks.map((t) => t.kind).join(", ")}`);

  pc = new RTCPeerConnection({ iceServers: [] });
  for (const track of stream.getTracks()) pc.addTrack(track, stream);
  pc.onicecandidate = (event) => {
    if (!event.candidate || !event.candidate.candidate) return;
    const candidate = event.candidate.toJSON();
    if (!isLoopback(candidate.candidate)) {
      state.skippedCandidates.push(candidate.candidate);
      return;
    }
    state.sent.candidates++;
    signal("webrtc-ice-candidate", { candidate });
  };
  pc.onconnectionstatechange = () => {
    state.connectionState = pc.connectionState;
    log(`connection ${pc.connectionState}`);
  };
  pc.oniceconnectionstatechange = () => {
    state.iceConnectionState = pc.iceConnectionState;
    render();
  };
  pc.onicegatheringstatechange = () => {
    state.iceGatheringState = pc.iceGatheringState;
  };
  pc.onsignalingstatechange = () => {
    state.signalingState = pc.signalingState;
    render();
  };
  pc.ontrack = (event) => {
    state.remoteTracks.push({ kind: event.track.kind, id: event.track.id });
    log(`remote ${event.track.kind} track`);
    const remote = document.getElementById("remote");
    if (event.streams[0] && remote.srcObject !== event.streams[0]) {
      remote.srcObject = event.streams[0];
    }
  };

  const url = new URL(`/ws/chat/${encodeURIComponent(params.get("room"))}/`, params.get("server"));
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("token", params.get("token") || "");
  state.socket = "connecting";
  ws = new WebSocket(url);
  ws.onopen = () => {
    state.socket = "open";
    log("socket open");
    sayHello();
  };
  ws.onclose = (event) => {
    state.socket = "closed";
    state.socketClose = { code: event.code, reason: event.reason };
    log(`socket closed ${event.code} ${event.reason}`);
  };
  ws.onerror = () => log("socket error");
  ws.onmessage = (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch (err) {
      return fail("frame", err);
    }
    if (message && typeof message.type === "string" && message.type.startsWith("webrtc-")) {
      onSignal(message);
    } else if (message && message.id !== undefined && message.user) {
      onChat(message);
    } else {
      log(`other frame ${String(event.data).slice(0, 200)}`);
    }
  };
}

render();
start().catch((err) => fail("start", err));
