#!/bin/sh
# Usage: make_test_certs.sh <dir>
# Writes two unrelated certificate authorities and, for each, a server and a
# client certificate into <dir>, using openssl (EC P-256 keys: fast to make).
#   ca1.crt ca1.key           first CA
#   server1.crt server1.key   CN=localhost, SAN DNS:localhost, IP:127.0.0.1
#   client1.crt client1.key   CN=billing-client,
#                             SAN URI:spiffe://rapport.test/ns/crm/sa/billing,
#                                 DNS:billing.rapport.test
#   ca2.* server2.* client2.* the same names under the second CA
#                             (client2: CN=intruder-client,
#                              SAN URI:spiffe://other.test/ns/x/sa/intruder)
# Certificates are valid from now for two days (tests run on this machine's
# clock, so there is no skew to allow for).
set -eu
if ! command -v openssl >/dev/null 2>&1; then
  echo "make_test_certs.sh: the openssl command is needed (apt-get install openssl)" >&2
  exit 1
fi
dir=$1
mkdir -p "$dir"
cd "$dir"

newkey() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
}

# make_ca <name> <subject CN>
make_ca() {
  newkey "$1.key"
  openssl req -x509 -new -key "$1.key" -out "$1.crt" -days 2 \
    -subj "/O=Rapport tests/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign"
}

# make_leaf <name> <ca> <CN> <extendedKeyUsage> <subjectAltName>
make_leaf() {
  newkey "$1.key"
  openssl req -new -key "$1.key" -out "$1.csr" -subj "/O=Rapport tests/CN=$3"
  cat > "$1.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=$4
subjectAltName=$5
EXT
  openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" \
    -set_serial "0x$(openssl rand -hex 8)" -days 2 -extfile "$1.ext" \
    -out "$1.crt" 2>"$1.log" || { cat "$1.log" >&2; exit 1; }
  rm -f "$1.csr" "$1.ext" "$1.log"
}

make_ca ca1 "Rapport test CA 1"
make_leaf server1 ca1 localhost serverAuth "DNS:localhost,IP:127.0.0.1"
make_leaf client1 ca1 billing-client clientAuth \
  "URI:spiffe://rapport.test/ns/crm/sa/billing,DNS:billing.rapport.test"

make_ca ca2 "Rapport test CA 2"
make_leaf server2 ca2 localhost serverAuth "DNS:localhost,IP:127.0.0.1"
make_leaf client2 ca2 intruder-client clientAuth \
  "URI:spiffe://other.test/ns/x/sa/intruder"
