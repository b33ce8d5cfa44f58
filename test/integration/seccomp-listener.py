"""The process at linux.seccomp.listenerPath, as a seccomp agent is.

usage: seccomp-listener.py SOCKET

Listens on SOCKET and prints "listening". Receives one message and prints, as one JSON line,
the payload (the seccomp state hako sends), the number of descriptors and what the first one
is (/proc/self/fd link). Then closes the descriptor and exits: with no listener left, the
syscalls the filter sends to it fail with ENOSYS.
"""
import array
import json
import os
import socket
import sys

server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(sys.argv[1])
server.listen(1)
print("listening", flush=True)
conn, _ = server.accept()
fds = array.array("i")
data, ancillary, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(16 * fds.itemsize))
for level, kind, payload in ancillary:
    if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
        fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
link = os.readlink(f"/proc/self/fd/{fds[0]}") if fds else ""
print(json.dumps({"payload": json.loads(data), "fds": len(fds), "link": link}), flush=True)
for fd in fds:
    os.close(fd)
