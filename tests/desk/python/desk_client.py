"""A desk client in Python (python-socketio), the way a third-party client is written: one
parameter per handler, as the desk document shows one payload per event. Prints each event
as a JSON line; leaves after the first `message`. Usage: desk_client.py URL TOKEN USER_ID"""
import json
import sys
import threading

import socketio

url, token, user_id = sys.argv[1], sys.argv[2], int(sys.argv[3])
sio = socketio.Client(reconnection=False)


printing = threading.Lock()


def report(event, data):
    # Handlers run on the client's threads: one line at a time, or two could interleave.
    with printing:
        sys.stdout.write(json.dumps({"event": event, "data": data}) + "\n")
        sys.stdout.flush()


@sio.event
def connect():
    report("connect", None)


@sio.event
def connect_error(data):
    report("connect_error", data)
    sio.disconnect()


@sio.on("online")
def on_online(data):
    report("online", data)


@sio.on("message")
def on_message(data):
    report("message", data)
    sio.disconnect()


# Never outlive the test: give up after 20 s.
deadline = threading.Timer(20, sio.disconnect)
deadline.daemon = True
deadline.start()
sio.connect(url, auth={"access_token": token, "id": user_id}, wait_timeout=10)
sio.wait()
sys.exit(0)
