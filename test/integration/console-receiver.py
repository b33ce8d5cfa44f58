"""The other end of `--console-socket`, as conmon and the containerd shim are.

usage: console-receiver.py SOCKET

Listens on SOCKET and prints "listening". Accepts only after a first line arrives on stdin,
so a test can show that the runtime sent the master without waiting for the accept. Then
receives one message and prints, as one JSON line, what a caller checks: the payload (the
pty's name), the number of descriptors and of control messages, whether the control data was
truncated, and whether more bytes followed. After that it copies the rest of stdin to the
master and the master to stdout, and exits when no process holds the pty any more (EIO).
"""
import array
import json
import os
import select
import socket
import sys


def receive(conn):
    fds = array.array("i")
    # Room for several descriptors, so that a runtime that sends more than one is caught.
    data, ancillary, flags, _ = conn.recvmsg(4096, socket.CMSG_SPACE(16 * fds.itemsize))
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    conn.setblocking(False)
    try:
        more = len(conn.recv(4096))
    except BlockingIOError:
        more = 0
    report = {
        "name": data.decode(errors="replace"),
        "fds": len(fds),
        "cmsgs": len(ancillary),
        "truncated": bool(flags & socket.MSG_CTRUNC),
        "more": more,
    }
    return report, list(fds)


def proxy(master):
    inputs = [0, master]
    while True:
        ready, _, _ = select.select(inputs, [], [])
        if 0 in ready:
            data = os.read(0, 4096)
            if data:
                os.write(master, data)
            else:
                inputs.remove(0)
        if master in ready:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: every descriptor of the pty's peer is closed
                return
            if not data:
                return
            os.write(1, data)


def main():
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(sys.argv[1])
    server.listen(1)
    print("listening", flush=True)
    while os.read(0, 1) not in (b"\n", b""):
        pass
    conn, _ = server.accept()
    report, fds = receive(conn)
    print(json.dumps(report), flush=True)
    if fds:
        proxy(fds[0])


main()
