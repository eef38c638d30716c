#!/bin/sh
# SPDX-License-Identifier: ISC
# Makes the test PKI (a CA, server, host, admin, foreign and expired certificates) into DIR.
#
# Usage: tests/pki.sh DIR
#
# Files (all PEM, EC P-256 keys because they are fast to make and to use):
#   ca.crt ca.key            the private test CA
#   server.crt server.key    CN localhost, SAN DNS:localhost, IP:127.0.0.1
#   host1.crt host1.key      CN = SAN DNS host1.test (a client host's identity)
#   host2.crt host2.key      CN = SAN DNS host2.test
#   admin.crt admin.key      CN admin
#   other-ca.crt             a second CA (its key stays in DIR/.work)
#   other.crt other.key      CN host1.test, signed by the second CA
#   expired.crt expired.key  CN host1.test, signed by the CA, valid only in 2020
#
# Idempotent: when every file is already there it does nothing; otherwise it
# makes the whole set again (certificates of one run always belong together).
# It never prompts. Several runs on different DIRs may go in parallel.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi
dir=$1
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

all="ca.crt ca.key server.crt server.key host1.crt host1.key host2.crt host2.key
admin.crt admin.key other-ca.crt other.crt other.key expired.crt expired.key"
missing=0
for f in $all; do
	[ -s "$dir/$f" ] || missing=1
done
[ "$missing" -eq 0 ] && exit 0

# Build in a private folder, then move into place, so a reader never sees a
# half-made set and an interrupted run leaves nothing misleading behind.
work=$(mktemp -d "$dir/.pki.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
cd "$work"

# openssl must not read a system or user configuration with prompts.
cat >openssl.cnf <<'EOF'
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ v3_server ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
[ v3_host1 ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth, serverAuth
subjectAltName = DNS:host1.test
[ v3_host2 ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth, serverAuth
subjectAltName = DNS:host2.test
[ v3_admin ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
# "openssl ca" section for the expired certificate (x509 -req in OpenSSL 3.0
# cannot set an explicit validity window; ca -startdate/-enddate can).
[ ca ]
default_ca = testca
[ testca ]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[ anything ]
commonName = supplied
EOF
OPENSSL_CONF=$work/openssl.cnf
export OPENSSL_CONF

key() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

# ca NAME: a self-signed CA valid for ten years.
ca() {
	key "$1.key"
	openssl req -new -x509 -key "$1.key" -subj "/CN=pbsh test $1" -days 3650 \
		-extensions v3_ca -out "$1.crt"
}

# leaf NAME CN EXT CA: a certificate for NAME signed by CA, valid for ten years.
leaf() {
	key "$1.key"
	openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
	openssl x509 -req -in "$1.csr" -CA "$4.crt" -CAkey "$4.key" -CAcreateserial \
		-days 3650 -sha256 -extfile openssl.cnf -extensions "$3" -out "$1.crt" 2>/dev/null
}

ca ca
ca other-ca
leaf server localhost v3_server ca
leaf host1 host1.test v3_host1 ca
leaf host2 host2.test v3_host2 ca
leaf admin admin v3_admin ca
leaf other host1.test v3_host1 other-ca

# The expired certificate: same identity as host1, so only its dates make it fail.
key expired.key
openssl req -new -key expired.key -subj /CN=host1.test -out expired.csr
: >index.txt
echo 01 >serial
openssl ca -batch -notext -cert ca.crt -keyfile ca.key -in expired.csr \
	-startdate 20200101000000Z -enddate 20200102000000Z \
	-extfile openssl.cnf -extensions v3_host1 -out expired.crt 2>/dev/null

chmod 600 ./*.key
for f in $all; do
	mv -f "$f" "../$f"
done
# Keep the second CA's key out of the published names but available.
mkdir -p ../.work
mv -f other-ca.key ../.work/other-ca.key
exit 0
