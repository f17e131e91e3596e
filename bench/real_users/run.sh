#!/usr/bin/env bash
# A new user's published files through scextract (issue 19): log-normalised X (made here with
# scanpy from real counts), values that cannot be turned back, data without donors, labels
# off the ruler, a bench killed part way and resumed, label maps. Prints every command with
# its output and exit code; about a minute.
#
#   bash bench/real_users/run.sh [OUT_DIR]     (default bench/out/real_users; needs build/ and .venv)
set -u
cd "$(dirname "$0")/../.."
S=build/scextract
M=data/scgpt_pretrained_small
D=$(realpath ../shared/data)
T=$(mkdir -p "${1:-bench/out/real_users}" && realpath "${1:-bench/out/real_users}")
PY=.venv/bin/python
export T
run() { echo "\$ $*"; "$@" 2>&1 | sed 's/^/  /' | cut -c1-400; echo "  [exit ${PIPESTATUS[0]}]"; }
$PY - <<'PY'
import os, anndata as ad, scanpy as sc
T = os.environ["T"]
for src, dst, t in [("data/triana2021_hspc.h5ad", f"{T}/triana_lognorm.h5ad", 1e4),
                    ("../shared/data/scanpy_pbmc68k_reduced/scanpy_pbmc68k_reduced.h5ad", f"{T}/pbmc68k_lognorm.h5ad", 1e4)]:
    a = ad.read_h5ad(src); sc.pp.normalize_total(a, target_sum=t); sc.pp.log1p(a); a.write_h5ad(dst)
a = ad.read_h5ad(f"{T}/triana_lognorm.h5ad"); sc.pp.scale(a); a.write_h5ad(f"{T}/triana_scaled.h5ad")
PY
echo "## 1. log-normalised input"
run $S export --model $M --reference data/triana2021_hspc.h5ad --mode qk --panel 200 --out $T/counts.scxop
run $S fit --operator $T/counts.scxop --train data/triana2021_hspc.h5ad --donor-key batch --features head --head 0:0 --out $T/counts.scx
run $S export --model $M --reference $T/triana_lognorm.h5ad --mode qk --panel 200 --out $T/lognorm.scxop
run $S fit --operator $T/counts.scxop --train $T/triana_lognorm.h5ad --donor-key batch --features head --head 0:0 --out $T/lognorm.scx
run $S apply --algorithm $T/counts.scx --input $T/triana_lognorm.h5ad --out $T/applied_lognorm.h5ad
run $S apply --algorithm $T/counts.scx --input data/triana2021_hspc.h5ad --out $T/applied_counts.h5ad
$PY - <<'PY'
import os, anndata as ad, numpy as np
T = os.environ["T"]
a = ad.read_h5ad(f"{T}/applied_counts.h5ad"); b = ad.read_h5ad(f"{T}/applied_lognorm.h5ad")
print("  X_scx max |counts - lognorm|:", float(np.abs(a.obsm["X_scx"] - b.obsm["X_scx"]).max()),
      " stage agreement:", float((a.obs.scx_stage.astype(str) == b.obs.scx_stage.astype(str)).mean()))
PY
run $S apply --algorithm $T/counts.scx --input $T/triana_scaled.h5ad --out $T/x.h5ad
run $S prepare $D/clustifyr_pbmc3k/clustifyr_pbmc3k.h5ad --layer lognorm_seurat --n-top-genes 100
run $S inspect $D/clustifyr_pbmc3k/clustifyr_pbmc3k.h5ad
echo "## 2. no donors / 3. bench keeps its work"
cat > $T/bench.json <<JSON
{"data": {"path": "$T/pbmc68k_lognorm.h5ad", "label_key": "bulk_labels", "donor_key": "none"},
 "ruler": "default", "panel": {"size": 300}, "splits": {"n": 6, "seed": 42}, "reference": "raw",
 "methods": [{"type": "raw"}, {"type": "pca", "name": "pca10", "components": 10}, {"type": "celltypist"}, {"type": "dpt"}]}
JSON
run $S bench --config $T/bench.json --out $T/bench_full
rm -rf $T/bench_part; timeout -s KILL 4 $S bench --config $T/bench.json --out $T/bench_part > /dev/null 2>&1; echo "  killed after 4 s: $(ls $T/bench_part/checkpoint | grep -c split) method x splits kept"
run $S bench --config $T/bench.json --out $T/bench_part --resume
$PY - <<'PY'
import json, os
T = os.environ["T"]
def s(p):
    j = json.load(open(p)); j.pop("command")
    for m in j["methods"]:
        for k in ("cache_seconds", "split_seconds", "total_seconds"): m.pop(k)
    return j
print("  resumed results.json == uninterrupted (timings aside):", s(f"{T}/bench_part/results.json") == s(f"{T}/bench_full/results.json"))
PY
cat > $T/bench_wu.json <<JSON
{"data": {"path": "$D/scirpy_wu2020_tcells_200/scirpy_wu2020_tcells_200.h5ad", "label_key": "cell_type", "donor_key": "donor"},
 "ruler": "default", "panel": {"size": 300}, "splits": {"n": 4, "seed": 42}, "reference": "raw",
 "methods": [{"type": "raw"}, {"type": "pca", "name": "pca10", "components": 10}]}
JSON
run $S bench --config $T/bench_wu.json --out $T/bench_wu
run $S validate --operator $T/counts.scxop --data data/triana2021_hspc.h5ad --donor-key none --features head --head 0:0 --permutations 99 --out $T/validate_nodonor.json
run $S fit --operator $T/counts.scxop --train data/triana2021_hspc.h5ad --donor-key none --variant anchor --out $T/x.scx
echo "## 4. labels"
$PY - <<'PY'
import os, anndata as ad, numpy as np, pandas as pd, scipy.sparse as sp
T = os.environ["T"]
labels = ["B cell (CD19+)", "CD4+ helper T cell", "CD4+/CD45RO+ memory T cell", "CD4+/CD25+ regulatory T cell",
          "CD8+/CD45RA+ naive cytotoxic T cell", "reg. T cell", "Tem/Trm cytotoxic T cells", "CD16 Mono", "my cluster 7"]
a = ad.AnnData(sp.csr_matrix(np.ones((len(labels), 2), dtype=np.float32)), obs=pd.DataFrame({"cell_type": labels}, index=[f"c{i}" for i in range(len(labels))]),
               var=pd.DataFrame(index=["A", "B"]))
a.write_h5ad(f"{T}/issue_labels.h5ad")
PY
printf 'my cluster 7\tclassical_monocyte\n' > $T/map.tsv
run $S ruler check default --labels-from $T/issue_labels.h5ad
run $S ruler check default --labels-from $T/issue_labels.h5ad --label-map $T/map.tsv
printf 'my cluster 7\tmonocyte\n' > $T/bad_map.tsv
run $S ruler check default --labels-from $T/issue_labels.h5ad --label-map $T/bad_map.tsv
