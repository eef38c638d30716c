#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
# Plain-to-TLS relay for tests: Debian builds sudo_sendlog without TLS, so it talks to this and this talks mutual TLS to logd.
"""usage: tlsbridge.py PORTFILE TARGET_PORT CA CERT KEY [SERVERNAME]

Listens on 127.0.0.1:0 (port written to PORTFILE), and relays every
connection to 127.0.0.1:TARGET_PORT over TLS, presenting CERT/KEY, verifying
the server against CA and SERVERNAME (default localhost). Bytes are relayed
unchanged in both directions; a close on one side closes the other.
"""
import os
import select
import socket
import ssl
import sys
import threading

portfile, target, ca, cert, key = sys.argv[1:6]
name = sys.argv[6] if len(sys.argv) > 6 else "localhost"
ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
ctx.load_cert_chain(cert, key)
ctx.minimum_version = ssl.TLSVersion.TLSv1_2

lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lsock.bind(("127.0.0.1", 0))
lsock.listen(16)
tmp = portfile + ".tmp"
with open(tmp, "w") as f:
    f.write("%d\n" % lsock.getsockname()[1])
os.rename(tmp, portfile)


def send_all_tls(tls, data):
    while data:
        try:
            n = tls.send(data)
            data = data[n:]
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
            select.select([tls], [tls], [], 1)


def serve(client):
    # One thread per connection drives both directions: an SSL object must
    # not be read and written from two threads at once.
    try:
        raw = socket.create_connection(("127.0.0.1", int(target)), timeout=10)
        tls = ctx.wrap_socket(raw, server_hostname=name)
    except (OSError, ssl.SSLError) as e:
        sys.stderr.write("tlsbridge: %s\n" % e)
        client.close()
        return
    tls.setblocking(False)
    client.setblocking(True)
    try:
        while True:
            r, _, _ = select.select([client, tls], [], [], None if not tls.pending() else 0)
            if tls in r or tls.pending():
                try:
                    data = tls.recv(65536)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    data = None
                if data is not None:
                    if not data:
                        break
                    client.sendall(data)
            if client in r:
                data = client.recv(65536)
                if not data:
                    break
                send_all_tls(tls, data)
    except (OSError, ssl.SSLError) as e:
        sys.stderr.write("tlsbridge: %s\n" % e)
    for s in (client, tls):
        try:
            s.close()
        except OSError:
            pass


while True:
    c, _ = lsock.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
