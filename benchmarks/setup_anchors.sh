#!/usr/bin/env bash
# Create the two anchor environments kotae's retrieval benchmark compares against.
#
#   lucene : Lucene 9.9.1 + Kuromoji, from the Anserini fat jar in the pyserini 0.25.0 wheel
#            (only the jar is used; pyserini itself is not installed). Needs java + javac >= 11.
#   bm25s  : bm25s==0.3.16 scipy==1.17.1 jieba==0.42.1 (runs bm25_baseline.py)
#
# Usage: bash benchmarks/setup_anchors.sh [DIR]     (DIR defaults to benchmarks/.anchors)
# Idempotent: whatever already exists and works is kept.
# The anchor scripts themselves are used in place from $KOTAE_SHARED/anchors
# (KOTAE_SHARED defaults to ../shared relative to the repository root).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
anchors_dir=${1:-"$repo_root/benchmarks/.anchors"}
shared=${KOTAE_SHARED:-"$repo_root/../shared"}
python=${PYTHON:-python3}

PYSERINI_VERSION=0.25.0
JAR_NAME="anserini-${PYSERINI_VERSION}-fatjar.jar"
BM25S_PINS=(bm25s==0.3.16 scipy==1.17.1 jieba==0.42.1)

log() { printf '[setup_anchors] %s\n' "$*" >&2; }

if [ ! -f "$shared/anchors/lucene_bm25.py" ]; then
    log "anchor scripts not found in $shared/anchors; set KOTAE_SHARED to the shared folder"
    exit 2
fi
mkdir -p "$anchors_dir"
anchors_dir=$(cd "$anchors_dir" && pwd)

make_venv() {  # make_venv NAME
    local venv="$anchors_dir/$1"
    if [ -x "$venv/bin/python" ]; then
        log "$1: venv exists ($venv)"
    else
        log "$1: creating venv $venv"
        "$python" -m venv "$venv"
    fi
}

setup_lucene() {
    make_venv lucene
    local jars="$anchors_dir/jars"
    local jar="$jars/$JAR_NAME"
    if [ -s "$jar" ] && unzip -l "$jar" >/dev/null 2>&1; then
        log "lucene: jar exists ($jar)"
    else
        for tool in java javac unzip; do
            command -v "$tool" >/dev/null || { log "lucene: $tool not on PATH (install openjdk-17-jdk-headless, unzip)"; exit 2; }
        done
        mkdir -p "$jars"
        local wheel="$jars/pyserini-${PYSERINI_VERSION}-py3-none-any.whl"
        if [ ! -s "$wheel" ]; then
            log "lucene: downloading pyserini ${PYSERINI_VERSION} wheel (about 169 MB)"
            "$anchors_dir/lucene/bin/python" -m pip download --quiet --no-deps \
                "pyserini==${PYSERINI_VERSION}" -d "$jars"
        fi
        unzip -o -q -j "$wheel" "pyserini/resources/jars/$JAR_NAME" -d "$jars"
        rm -f "$wheel"  # only the jar is needed
        log "lucene: extracted $jar"
    fi
}

bm25s_ready() {
    "$anchors_dir/bm25s/bin/python" - <<'EOF' 2>/dev/null
import importlib.metadata as md
want = {"bm25s": "0.3.16", "scipy": "1.17.1", "jieba": "0.42.1"}
raise SystemExit(0 if all(md.version(k) == v for k, v in want.items()) else 1)
EOF
}

setup_bm25s() {
    make_venv bm25s
    if bm25s_ready; then
        log "bm25s: packages installed"
    else
        log "bm25s: installing ${BM25S_PINS[*]}"
        "$anchors_dir/bm25s/bin/python" -m pip install --quiet --disable-pip-version-check "${BM25S_PINS[@]}"
    fi
}

setup_lucene
setup_bm25s
log "done: anchors in $anchors_dir (LUCENE_JAR=$anchors_dir/jars/$JAR_NAME)"
