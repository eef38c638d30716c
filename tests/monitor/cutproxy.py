#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
# Test helper: a TLS proxy in front of logd that passes the first N client frames, waits for logd's next commit point (or events_stored), passes it on and cuts both connections (a log server lost in the middle of a forward).
#
# Usage: cutproxy.py PORTFILE LOGD_PORT PKI_DIR N
import socket
import ssl
import struct
import os
import select
import sys


def frames(buf):
    """Split complete frames off the front of buf: (list of frames, rest)."""
    out = []
    while len(buf) >= 4:
        n = struct.unpack(">I", buf[:4])[0]
        if len(buf) < 4 + n:
            break
        out.append(buf[:4 + n])
        buf = buf[4 + n:]
    return out, buf


def recv_some(sock):
    """What a non-blocking TLS socket has now: b"" at its end, None when nothing yet."""
    try:
        return sock.recv(65536)
    except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
        return None


def send_all(sock, data):
    while data:
        try:
            n = sock.send(data)
            data = data[n:]
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            select.select([], [sock], [], 1)


def main():
    portfile, logd_port, pki, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(f"{pki}/server.crt", f"{pki}/server.key")
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.load_verify_locations(f"{pki}/ca.crt")
    # The same identity as the forwarder: logd lets only it restart the log.
    cctx.load_cert_chain(f"{pki}/host1.crt", f"{pki}/host1.key")
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(ls.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    raw, _ = ls.accept()
    client = sctx.wrap_socket(raw, server_side=True)
    up = cctx.wrap_socket(socket.create_connection(("127.0.0.1", logd_port)), server_hostname="localhost")
    # One thread: an SSL socket must not be read and written from two threads at once.
    client.setblocking(False)
    up.setblocking(False)
    cbuf, sbuf, sent, done = b"", b"", 0, False
    while not done:
        ready = [x for x in (client, up) if x.pending()]
        if not ready:
            ready, _, _ = select.select([client, up], [], [], 10)
            if not ready:
                break
        for sock in ready:
            data = recv_some(sock)
            if data is None:
                continue
            if data == b"":
                done = True
                break
            if sock is client:
                got, cbuf = frames(cbuf + data)
                for fr in got:
                    if sent < n:
                        send_all(up, fr)
                        sent += 1
            else:
                got, sbuf = frames(sbuf + data)
                for fr in got:
                    send_all(client, fr)
                    # ServerMessage field 2 (commit_point), length-delimited: tag 0x12; or
                    # field 102 (events_stored, extension event-acks), a varint: tag b0 06.
                    if sent >= n and (fr[4:5] == b"\x12" or fr[4:6] == b"\xb0\x06"):
                        done = True
    for s in (client, up):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()


if __name__ == "__main__":
    main()
