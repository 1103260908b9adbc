#!/usr/bin/env bash
# A real Kubernetes control plane on this machine, on loopback only, for `pulumi up` to meet.
#
# Usage: tools/local-cluster.sh up | down | status | kubeconfig
#   up          stop any earlier cluster, then start a fresh one (new certificates, empty etcd) and
#               wait until it is ready: prints the kubeconfig path on stdout
#   down        stop every process and delete the cluster folder
#   status      exit 0 when the API server answers /readyz, and print .cluster/status
#   kubeconfig  print the kubeconfig path (exit 1 if the cluster is not up)
#
# What runs (binaries from tools/bootstrap-kubernetes.sh, built from Go modules on first use):
#   etcd                      https://127.0.0.1:16379, client certificates required
#   kube-apiserver            https://127.0.0.1:16443, RBAC + Node authorization, PodSecurity and the
#                             default admission plugins, no anonymous requests
#   kube-controller-manager   every default controller (Deployments, ReplicaSets, StatefulSets,
#                             DaemonSets, EndpointSlices, namespaces, garbage collection, HPA, PDB)
#   kube-scheduler            the default profile (anti-affinity, topology spread, volume binding)
#   kwok                      3 fake nodes in zones zone-a/b/c (16 CPU, 64Gi each): pods go Running
#                             and Ready, PVCs of class `standard` are provisioned, and every
#                             Ingress gets the address 127.0.0.1 (tools/cluster/kwok-stages.yaml)
# then installs the cert-manager, prometheus-operator and Velero CRDs (tools/fetch-crds.sh) and the
# `standard` StorageClass. Nothing listens beyond 127.0.0.1; pods never run, so no traffic leaves.
#
# Everything lives in ${KEELSON_CLUSTER_DIR:-<repo>/.cluster} (git-ignored: it holds private keys):
# certificates, etcd data, logs, pid files, kubeconfig (admin, context keelson-local) and `status`
# (start seconds, memory). Ports move with KEELSON_CLUSTER_PORT_BASE (default 16000).
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${KEELSON_CLUSTER_DIR:-$ROOT/.cluster}
BASE=${KEELSON_CLUSTER_PORT_BASE:-16000}
ETCD_PORT=$((BASE + 379)) ETCD_PEER_PORT=$((BASE + 380)) API_PORT=$((BASE + 443))
KCM_PORT=$((BASE + 257)) SCHEDULER_PORT=$((BASE + 259)) KWOK_PORT=$((BASE + 247))
HOST=127.0.0.1
COMPONENTS=(kwok kube-scheduler kube-controller-manager kube-apiserver etcd)
# Virtual ranges only: nothing routes them and no process here dials them (no kube-proxy, no CNI).
SERVICE_CIDR=10.96.0.0/16 POD_CIDR=10.244.0.0/16

log() { printf '[local-cluster] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
usage() { sed -n '4,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

kubectl_() { "$BIN/kubectl" --kubeconfig "$DIR/kubeconfig" "$@"; }

stop_all() {
  local component pid waited
  for component in "${COMPONENTS[@]}"; do
    [ -f "$DIR/$component.pid" ] || continue
    pid=$(cat "$DIR/$component.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for waited in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        if [ "$waited" = 100 ]; then kill -9 "$pid" 2>/dev/null || true; fi
        sleep 0.1
      done
    fi
    rm -f "$DIR/$component.pid"
  done
}

# A key and a certificate signed by the cluster CA: name, subject, extensions.
issue() {
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$2" \
    -keyout "$DIR/pki/$1.key" -out "$DIR/pki/$1.csr" 2>/dev/null
  openssl x509 -req -in "$DIR/pki/$1.csr" -CA "$DIR/pki/ca.crt" -CAkey "$DIR/pki/ca.key" -CAcreateserial \
    -days 30 -sha256 -extfile <(printf '%s\n' "$3") -out "$DIR/pki/$1.crt" 2>/dev/null
  rm -f "$DIR/pki/$1.csr"
}

make_pki() {
  mkdir -p "$DIR/pki"
  chmod 700 "$DIR/pki"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -sha256 \
    -subj "/CN=keelson-local-ca" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$DIR/pki/ca.key" -out "$DIR/pki/ca.crt" 2>/dev/null
  local server="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth"
  local client="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
  issue etcd "/CN=keelson-etcd" "$server
subjectAltName=IP:127.0.0.1,DNS:localhost"
  issue apiserver "/CN=kube-apiserver" "$server
subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  issue apiserver-etcd-client "/CN=kube-apiserver-etcd-client" "$client"
  issue admin "/O=system:masters/CN=keelson-admin" "$client"
  issue controller-manager "/CN=system:kube-controller-manager" "$client"
  issue scheduler "/CN=system:kube-scheduler" "$client"
  # kwok plays every kubelet: it patches node and pod status across the cluster.
  issue kwok "/O=system:masters/CN=keelson-kwok" "$client"
  openssl ecparam -name prime256v1 -genkey -noout -out "$DIR/pki/service-account.key" 2>/dev/null
  openssl ec -in "$DIR/pki/service-account.key" -pubout -out "$DIR/pki/service-account.pub" 2>/dev/null
}

# A kubeconfig for one identity: file, certificate name.
write_kubeconfig() {
  local b64="base64 -w0"
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: keelson-local
  cluster:
    server: https://$HOST:$API_PORT
    certificate-authority-data: $($b64 "$DIR/pki/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $($b64 "$DIR/pki/$2.crt")
    client-key-data: $($b64 "$DIR/pki/$2.key")
contexts:
- name: keelson-local
  context: {cluster: keelson-local, user: $2}
current-context: keelson-local
EOF
  chmod 600 "$1"
}

start() { # component, args...
  local component=$1
  shift
  setsid "$BIN/$component" "$@" >"$DIR/logs/$component.log" 2>&1 </dev/null &
  echo $! >"$DIR/$component.pid"
}

alive() {
  local component
  for component in "${COMPONENTS[@]}"; do
    [ -f "$DIR/$component.pid" ] || continue
    kill -0 "$(cat "$DIR/$component.pid" 2>/dev/null || echo 0)" 2>/dev/null ||
      { log "$component is not running; last lines of $DIR/logs/$component.log:"; tail -n 30 "$DIR/logs/$component.log" >&2; return 1; }
  done
}

wait_for() { # description, seconds, command...
  local description=$1 limit=$2 deadline=$((SECONDS + $2))
  shift 2
  until "$@" >/dev/null 2>&1; do
    alive || die "a control-plane process exited while waiting for $description; logs: $DIR/logs"
    ((SECONDS <= deadline)) || die "timed out after ${limit}s waiting for $description; logs: $DIR/logs"
    sleep 0.5
  done
}

api_ready() { kubectl_ get --raw /readyz --request-timeout 5s; }
nodes_ready() {
  [ "$(kubectl_ get nodes -l type=kwok -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True)" = 3 ]
}
default_service_account() { kubectl_ get serviceaccount default --namespace default; }

memory_mib() {
  local component total=0 kib
  for component in "${COMPONENTS[@]}"; do
    kib=$(awk '/^VmRSS:/ {print $2}' "/proc/$(cat "$DIR/$component.pid")/status" 2>/dev/null || echo 0)
    total=$((total + kib))
  done
  echo $((total / 1024))
}

up() {
  command -v openssl >/dev/null || die "openssl is needed to make the cluster's certificates (apt-get install openssl)"
  BIN=$("$ROOT/tools/bootstrap-kubernetes.sh")
  STAGES=$(dirname "$BIN")/share/kwok/stages.yaml
  # Resolve the CRDs before the clock starts: the first call downloads them.
  local cert_manager_crds prometheus_operator_crds velero_crds
  cert_manager_crds=$("$ROOT/tools/fetch-crds.sh" cert-manager)
  prometheus_operator_crds=$("$ROOT/tools/fetch-crds.sh" prometheus-operator)
  velero_crds=$("$ROOT/tools/fetch-crds.sh" velero)

  down_quietly
  local port
  for port in "$ETCD_PORT" "$ETCD_PEER_PORT" "$API_PORT" "$KCM_PORT" "$SCHEDULER_PORT" "$KWOK_PORT"; do
    if (exec 3<>"/dev/tcp/$HOST/$port") 2>/dev/null; then
      die "port $HOST:$port is taken (another cluster started from a different folder?); stop it, or start this one elsewhere with KEELSON_CLUSTER_PORT_BASE"
    fi
  done
  local started=$SECONDS
  mkdir -p "$DIR/logs"
  chmod 700 "$DIR"
  make_pki
  local pki=$DIR/pki
  for identity in admin controller-manager scheduler kwok; do
    write_kubeconfig "$DIR/$identity.kubeconfig" "$identity"
  done
  mv "$DIR/admin.kubeconfig" "$DIR/kubeconfig"

  # No fsync: the data is thrown away with the cluster, and fsync dominates etcd on shared disks.
  start etcd --name keelson --data-dir "$DIR/etcd" --log-level warn --unsafe-no-fsync \
    --listen-client-urls "https://$HOST:$ETCD_PORT" --advertise-client-urls "https://$HOST:$ETCD_PORT" \
    --listen-peer-urls "http://$HOST:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://$HOST:$ETCD_PEER_PORT" \
    --initial-cluster "keelson=http://$HOST:$ETCD_PEER_PORT" --listen-metrics-urls "http://$HOST:$((BASE + 381))" \
    --cert-file "$pki/etcd.crt" --key-file "$pki/etcd.key" --client-cert-auth --trusted-ca-file "$pki/ca.crt" \
    --quota-backend-bytes 2147483648
  # The `kubernetes` Service would get the advertise address as its endpoint, and the API refuses
  # loopback endpoints: no endpoint reconciler (no pod runs here to call the API through the Service).
  start kube-apiserver --bind-address "$HOST" --advertise-address "$HOST" --secure-port "$API_PORT" \
    --etcd-servers "https://$HOST:$ETCD_PORT" --etcd-cafile "$pki/ca.crt" \
    --etcd-certfile "$pki/apiserver-etcd-client.crt" --etcd-keyfile "$pki/apiserver-etcd-client.key" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" --anonymous-auth=false --authorization-mode Node,RBAC \
    --enable-admission-plugins NodeRestriction --allow-privileged=false --profiling=false \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/service-account.pub" --service-account-signing-key-file "$pki/service-account.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" --event-ttl 1h --endpoint-reconciler-type none --max-requests-inflight 200 \
    --max-mutating-requests-inflight 100
  wait_for "the API server's /readyz" 120 api_ready
  start kube-controller-manager --kubeconfig "$DIR/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$DIR/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$DIR/controller-manager.kubeconfig" \
    --bind-address "$HOST" --secure-port "$KCM_PORT" --leader-elect=false --profiling=false \
    --use-service-account-credentials --service-account-private-key-file "$pki/service-account.key" \
    --root-ca-file "$pki/ca.crt" --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
    --cluster-name keelson-local --service-cluster-ip-range "$SERVICE_CIDR"
  start kube-scheduler --kubeconfig "$DIR/scheduler.kubeconfig" \
    --authentication-kubeconfig "$DIR/scheduler.kubeconfig" --authorization-kubeconfig "$DIR/scheduler.kubeconfig" \
    --bind-address "$HOST" --secure-port "$SCHEDULER_PORT" --leader-elect=false --profiling=false
  start kwok --kubeconfig "$DIR/kwok.kubeconfig" --config "$STAGES" --config "$ROOT/tools/cluster/kwok-stages.yaml" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --cidr "$POD_CIDR" --node-ip "$HOST" --node-lease-duration-seconds 40 --server-address "$HOST:$KWOK_PORT"

  kubectl_ apply --server-side -f "$ROOT/tools/cluster/objects.yaml" >/dev/null
  local crd crd_files=()
  for crd in "$cert_manager_crds"/*.yaml "$prometheus_operator_crds"/*.yaml "$velero_crds"/*.yaml; do crd_files+=(-f "$crd"); done
  kubectl_ apply --server-side "${crd_files[@]}" >/dev/null
  kubectl_ wait --for condition=Established --timeout 120s crd --all >/dev/null
  wait_for "3 kwok nodes Ready" 120 nodes_ready
  wait_for "the default ServiceAccount (controllers running)" 120 default_service_account
  alive || die "a control-plane process exited during start; see $DIR/logs"

  local seconds=$((SECONDS - started)) memory
  memory=$(memory_mib)
  printf 'started_seconds=%s\nmemory_mib=%s\nkubernetes=%s\napi_server=https://%s:%s\nkubeconfig=%s\n' \
    "$seconds" "$memory" "$("$BIN/kube-apiserver" --version | awk '{print $2}')" "$HOST" "$API_PORT" \
    "$DIR/kubeconfig" >"$DIR/status"
  log "ready in ${seconds}s, ${memory} MiB resident (etcd, apiserver, controller-manager, scheduler, kwok)"
  printf '%s\n' "$DIR/kubeconfig"
}

down_quietly() {
  [ -d "$DIR" ] || return 0
  stop_all
  rm -rf "$DIR"
}

case "${1:-}" in
  up) up ;;
  down) down_quietly; log "stopped; $DIR removed" ;;
  status)
    [ -f "$DIR/status" ] || die "no cluster in $DIR (start one with: tools/local-cluster.sh up)"
    BIN=$("$ROOT/tools/bootstrap-kubernetes.sh" --print-bin-dir)
    alive || exit 1
    api_ready >/dev/null || die "the API server at https://$HOST:$API_PORT does not answer /readyz"
    cat "$DIR/status" ;;
  kubeconfig)
    [ -f "$DIR/kubeconfig" ] || die "no cluster in $DIR (start one with: tools/local-cluster.sh up)"
    printf '%s\n' "$DIR/kubeconfig" ;;
  -h|--help) usage ;;
  *) usage >&2; exit 2 ;;
esac
