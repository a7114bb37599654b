"""Listening sockets for node_world.sh: one process enters every EVERY-th pod namespace (setns)
and listens there (TCP 8080, and UDP 53 in every 4th of those), plus kubelet-like ports on the
host; it keeps the sockets open until the world dies. One process for all pods, because a
process per pod is too heavy at 3000 pods.

usage: node_listeners.py PODS EVERY READY_FILE NODE_WORLD_SH
"""

import ctypes
import os
import socket
import subprocess
import sys
import time

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)


def setns(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {path}: {os.strerror(err)}")
    finally:
        os.close(fd)


def listen(kind, port):
    s = socket.socket(socket.AF_INET, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    if kind == socket.SOCK_STREAM:
        s.listen(16)
    return s


def main():
    pods, every, ready, world = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    keep = [listen(socket.SOCK_STREAM, p) for p in (10250, 10256)]
    home = "/proc/self/ns/net"
    home_fd = os.open(home, os.O_RDONLY)
    names = subprocess.run(
        ["bash", "-c", f'source "{world}"; for ((i=0; i<{pods}; i+={every})); do nw_name $i; done'],
        check=True, capture_output=True, text=True,
    ).stdout.split()
    for n, name in enumerate(names):
        setns(f"/run/netns/{name}")
        keep.append(listen(socket.SOCK_STREAM, 8080))
        if n % 4 == 0:
            keep.append(listen(socket.SOCK_DGRAM, 53))
    libc.setns(home_fd, CLONE_NEWNET)
    open(ready, "w").close()
    while True:
        time.sleep(3600)


main()
