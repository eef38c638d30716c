#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
# Test helper: a TLS proxy in front of logd that passes the first N client frames, waits for logd's next commit point, passes it on and cuts both connections (a log server lost in the middle of a forward).
#
# Usage: cutproxy.py PORTFILE LOGD_PORT PKI_DIR N
import socket
import ssl
import struct
import sys
import threading


def read_frame(sock):
    hdr = b""
    while len(hdr) < 4:
        d = sock.recv(4 - len(hdr))
        if not d:
            return None
        hdr += d
    n = struct.unpack(">I", hdr)[0]
    body = b""
    while len(body) < n:
        d = sock.recv(n - len(body))
        if not d:
            return None
        body += d
    return hdr + body


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
    import os
    os.rename(portfile + ".tmp", portfile)
    raw, _ = ls.accept()
    client = sctx.wrap_socket(raw, server_side=True)
    up = cctx.wrap_socket(socket.create_connection(("127.0.0.1", logd_port)), server_hostname="localhost")
    passed = threading.Event()

    def c2s():
        k = 0
        while True:
            fr = read_frame(client)
            if fr is None:
                return
            if k < n:
                up.sendall(fr)
                k += 1
                if k == n:
                    passed.set()

    threading.Thread(target=c2s, daemon=True).start()
    while True:
        fr = read_frame(up)
        if fr is None:
            break
        client.sendall(fr)
        # ServerMessage field 2 (commit_point), length-delimited: tag 0x12.
        if passed.is_set() and fr[4:5] == b"\x12":
            break
    for s in (client, up):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()


if __name__ == "__main__":
    main()
