"""Issue 19: what a new user's published files look like, end to end through the CLI.

Log-normalised X (made here with scanpy from real counts, as most published files hold it),
files whose values cannot be turned back into expression, data without donors, labels the
ruler does not know, label maps, and a benchmark interrupted part way and resumed. Real data:
the bundled Triana 2021 marrow file (data/) and PBMC 68k / Wu 2020 from ../shared/data.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import anndata
import numpy as np
import pytest
import scanpy as sc

sys.path.insert(0, str(Path(__file__).parent))
from scx_interop import REPO, SCX_BIN, SHARED_DATA, SHARED_MISSING, run_cli  # noqa: E402

TRIANA = REPO / "data" / "triana2021_hspc.h5ad"
MODEL = REPO / "data" / "scgpt_pretrained_small"
PBMC = SHARED_DATA / "scanpy_pbmc68k_reduced" / "scanpy_pbmc68k_reduced.h5ad"
PBMC_10X = SHARED_DATA / "scanpy_pbmc68k_reduced" / "10x_pbmc68k_reduced.h5ad"
CLUSTIFYR = SHARED_DATA / "clustifyr_pbmc3k" / "clustifyr_pbmc3k.h5ad"
WU = SHARED_DATA / "scirpy_wu2020_tcells_200" / "scirpy_wu2020_tcells_200.h5ad"
needs_shared = pytest.mark.skipif(not PBMC.is_file(), reason=SHARED_MISSING)


def ok(*args, timeout=600):
    r = run_cli(*args, timeout=timeout)
    assert r.returncode == 0, r.stderr
    return r


def fails(*args, code=1):
    r = run_cli(*args)
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    lines = [line for line in r.stderr.splitlines() if line.startswith(("scextract: error:", "scextract: usage error:"))]
    assert len(lines) == 1, r.stderr
    return lines[0]


def lognorm_copy(src: Path, dst: Path, target_sum: float = 1e4) -> Path:
    a = anndata.read_h5ad(src)
    sc.pp.normalize_total(a, target_sum=target_sum)
    sc.pp.log1p(a)
    a.write_h5ad(dst)
    return dst


@pytest.fixture(scope="module")
def triana(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("real_users")
    lognorm_copy(TRIANA, tmp / "lognorm.h5ad")
    lognorm_copy(TRIANA, tmp / "lognorm_1e6.h5ad", 1e6)
    scaled = anndata.read_h5ad(tmp / "lognorm.h5ad")
    sc.pp.scale(scaled)
    scaled.write_h5ad(tmp / "scaled.h5ad")
    ok("export", "--model", MODEL, "--reference", TRIANA, "--mode", "qk", "--panel", "200", "--hvg-flavor", "seurat",
       "--out", tmp / "counts.scxop")
    ok("fit", "--operator", tmp / "counts.scxop", "--train", TRIANA, "--donor-key", "batch", "--features", "head", "--head", "0:0",
       "--epochs", "60", "--out", tmp / "counts.scx")
    return tmp


def test_lognorm_input_is_detected_and_gives_the_counts_results(triana):
    # export runs on log-normalised X, and the panel is the one counts give (seurat flavour)
    vocab = MODEL / "vocab.json"
    counts_panel = json.loads(ok("prepare", TRIANA, "--vocab", vocab, "--flavor", "seurat", "--n-top-genes", "200",
                                 "--json", "-").stdout)["panel"]
    assert len(counts_panel) == 200
    for name in ("lognorm", "lognorm_1e6"):
        r = ok("export", "--model", MODEL, "--reference", triana / f"{name}.h5ad", "--mode", "qk", "--panel", "200",
               "--out", triana / f"{name}.scxop")
        assert "log-normalised (detected" in r.stderr + r.stdout
        panel = json.loads(ok("prepare", triana / f"{name}.h5ad", "--vocab", vocab, "--n-top-genes", "200",
                              "--json", "-").stdout)["panel"]
        assert panel == counts_panel
    # apply: log-normalised X gives the counts' placements up to float rounding
    ok("apply", "--algorithm", triana / "counts.scx", "--input", TRIANA, "--out", triana / "a_counts.h5ad")
    r = ok("apply", "--algorithm", triana / "counts.scx", "--input", triana / "lognorm_1e6.h5ad",
           "--out", triana / "a_lognorm.h5ad")
    assert "normalised to 1e+06 per cell" in r.stderr + r.stdout
    x = anndata.read_h5ad(triana / "a_counts.h5ad")
    y = anndata.read_h5ad(triana / "a_lognorm.h5ad")
    np.testing.assert_allclose(y.obsm["X_scx"], x.obsm["X_scx"], rtol=1e-3, atol=1e-3)
    assert (x.obs["scx_stage"].astype(str) == y.obs["scx_stage"].astype(str)).mean() > 0.99
    # the input's X is written back as it was read
    np.testing.assert_array_equal(y.X.toarray(), anndata.read_h5ad(triana / "lognorm_1e6.h5ad").X.toarray())
    # fit on log-normalised cells: the same algorithm as on counts, up to rounding
    ok("fit", "--operator", triana / "counts.scxop", "--train", triana / "lognorm.h5ad", "--donor-key", "batch",
       "--features", "head", "--head", "0:0", "--epochs", "60", "--out", triana / "lognorm.scx")
    ok("apply", "--algorithm", triana / "lognorm.scx", "--input", TRIANA, "--out", triana / "b_counts.h5ad")
    z = anndata.read_h5ad(triana / "b_counts.h5ad")
    assert np.corrcoef(z.obsm["X_scx"].ravel(), x.obsm["X_scx"].ravel())[0, 1] > 0.999
    # prepare says what it found and selects HVGs with the seurat flavour
    out = json.loads(ok("prepare", triana / "lognorm.h5ad", "--n-top-genes", "100", "--json", "-").stdout)
    assert out["input_kind"] == "lognorm" and out["flavor"] == "seurat" and out["input_target_sum"] == pytest.approx(1e4)


def test_stated_kinds_are_checked_and_unrecoverable_values_refused(triana):
    e = fails("apply", "--algorithm", triana / "counts.scx", "--input", triana / "scaled.h5ad", "--out", triana / "x.h5ad")
    assert "scaled or centred values cannot be turned back into expression" in e
    assert not (triana / "x.h5ad").exists()
    e = fails("fit", "--operator", triana / "counts.scxop", "--train", triana / "lognorm.h5ad", "--donor-key", "batch",
              "--input-kind", "lognorm", "--input-target-sum", "1e6", "--out", triana / "x.scx")
    assert "--target-sum 1e+06 was stated, but every cell's expm1 sum is 10000" in e
    e = fails("export", "--model", MODEL, "--reference", triana / "lognorm.h5ad", "--mode", "qk", "--hvg-flavor",
              "seurat_v3", "--out", triana / "x.scxop", code=2)  # the options contradict the data: a usage error
    assert "seurat_v3" in e and "seurat" in e
    e = fails("fit", "--operator", triana / "counts.scxop", "--train", TRIANA, "--donor-key", "batch",
              "--input-kind", "lognorm", "--out", triana / "x.scx")
    assert "--input-kind lognorm, but it holds non-negative integer counts" in e
    for f in ("x.scx", "x.scxop", "x.h5ad"):
        assert not (triana / f).exists()


@needs_shared
def test_published_gene_subsets_of_log_values_are_refused(tmp_path):
    # clustifyr keeps Seurat's LogNormalize values of 2,000 variable genes only; pbmc68k_reduced's
    # raw.X is log values of 765 genes: neither can be turned back into the normalised counts
    e = fails("prepare", CLUSTIFYR, "--layer", "lognorm_seurat", "--out", tmp_path / "x.h5ad")
    assert "looks log-normalised" in e and "cannot be recovered exactly" in e
    e = fails("prepare", PBMC_10X, "--raw", "--out", tmp_path / "x.h5ad")
    assert "cannot be recovered exactly" in e
    e = fails("prepare", PBMC_10X, "--out", tmp_path / "x.h5ad")
    assert "scaled or centred" in e
    assert not (tmp_path / "x.h5ad").exists()


def bench_config(tmp: Path, data: Path, **data_keys) -> Path:
    cfg = {"data": {"path": str(data), **data_keys}, "ruler": "default", "panel": {"size": 300},
           "splits": {"n": 6, "seed": 42}, "reference": "raw",
           "methods": [{"type": "raw"}, {"type": "pca", "name": "pca10", "components": 10}, {"type": "celltypist"}]}
    path = tmp / "config.json"
    path.write_text(json.dumps(cfg))
    return path


def results_without_timings(path: Path) -> dict:
    j = json.loads(path.read_text())
    for m in j["methods"]:
        for k in ("cache_seconds", "split_seconds", "total_seconds"):
            m.pop(k)
    j.pop("command")
    return j


@needs_shared
def test_bench_without_donors_on_lognorm_data_runs_over_cell_folds(tmp_path):
    data = lognorm_copy(PBMC, tmp_path / "pbmc_lognorm.h5ad")
    cfg = bench_config(tmp_path, data, label_key="bulk_labels", donor_key="none")
    r = ok("bench", "--config", cfg, "--out", tmp_path / "out")
    assert "no donor column" in r.stderr and "folds of cells, not donors" in r.stderr
    j = json.loads((tmp_path / "out" / "results.json").read_text())
    assert j["dataset"]["split_unit"] == "cell folds" and j["dataset"]["input_kind"] == "lognorm"
    assert j["splits"]["distinct_test_donors"][:2] == ["fold01", "fold02"]
    html = (tmp_path / "out" / "report.html").read_text()
    assert "No donors: the statistics are over folds of cells." in html
    assert not (tmp_path / "out" / "checkpoint").exists()


@needs_shared
def test_bench_leaves_out_unmapped_labels_and_checks_before_computing(tmp_path):
    cfg = bench_config(tmp_path, WU, label_key="cell_type", donor_key="donor")
    r = ok("bench", "--config", cfg, "--out", tmp_path / "out")
    j = json.loads((tmp_path / "out" / "results.json").read_text())
    off = {e["label"]: e["n_cells"] for e in j["dataset"]["unmapped_labels"]}
    assert off and all(n > 0 for n in off.values())
    assert "map to no stage" in r.stderr
    assert j["dataset"]["n_cells"] == 200 - sum(off.values())
    # a label map naming a stage the ruler lacks stops the run before any work, naming the line
    bad = tmp_path / "bad_map.tsv"
    bad.write_text("3.1-MT\tmonocyte\n")
    e = fails("bench", "--config", cfg, "--label-map", bad, "--out", tmp_path / "out2")
    assert f"{bad}:1: 'monocyte' is not a stage" in e
    assert not (tmp_path / "out2" / "results.json").exists()
    # the same run with a good map puts those cells back
    good = tmp_path / "map.tsv"
    good.write_text("".join(f"{label}\tmemory_CD4_T\n" for label in off))
    ok("bench", "--config", cfg, "--label-map", good, "--out", tmp_path / "out3")
    j3 = json.loads((tmp_path / "out3" / "results.json").read_text())
    assert j3["dataset"]["unmapped_labels"] == [] and j3["dataset"]["n_cells"] == 200


@needs_shared
def test_an_interrupted_bench_resumes_with_the_same_results(tmp_path):
    data = lognorm_copy(PBMC, tmp_path / "pbmc_lognorm.h5ad")
    cfg = bench_config(tmp_path, data, label_key="bulk_labels", donor_key="none")
    ok("bench", "--config", cfg, "--out", tmp_path / "full")
    # stop a second run once a few method x splits are done, as Ctrl-C or a scheduler would
    p = subprocess.Popen([str(SCX_BIN), "bench", "--config", str(cfg), "--out", str(tmp_path / "part")],
                         stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    for line in p.stderr:
        if line.startswith("pca10 split 2/6"):
            p.send_signal(signal.SIGKILL)
            break
    p.wait()
    kept = sorted((tmp_path / "part" / "checkpoint").glob("*.split"))
    assert len(kept) >= 8 and not (tmp_path / "part" / "results.json").exists()
    r = ok("bench", "--config", cfg, "--out", tmp_path / "part", "--resume")
    assert f"resuming: {len(kept)} finished method x splits" in r.stderr
    assert r.stderr.count("(resumed)") == len(kept)
    assert results_without_timings(tmp_path / "part" / "results.json") == \
        results_without_timings(tmp_path / "full" / "results.json")
    # another config's checkpoint is never reused
    p = subprocess.run([str(SCX_BIN), "bench", "--config", str(cfg), "--out", str(tmp_path / "part2"), "--splits", "2"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0
    (tmp_path / "part2" / "checkpoint").mkdir()
    (tmp_path / "part2" / "checkpoint" / "fingerprint.txt").write_text("another run\n")
    e = fails("bench", "--config", cfg, "--out", tmp_path / "part2", "--resume")
    assert "holds a run of another config" in e


def test_fit_and_validate_without_donors(triana):
    # fit: the cell variant needs no donors; the anchor variant needs two and says so
    ok("fit", "--operator", triana / "counts.scxop", "--train", TRIANA, "--donor-key", "none", "--features", "head", "--head", "0:0",
       "--epochs", "40", "--out", triana / "nodonor.scx")
    e = fails("fit", "--operator", triana / "counts.scxop", "--train", TRIANA, "--donor-key", "none",
              "--variant", "anchor", "--out", triana / "x.scx")
    assert "needs cells from at least two donors" in e
    # validate: cell folds stand in for donors, with a warning and a note in the results
    r = ok("validate", "--operator", triana / "counts.scxop", "--data", TRIANA, "--donor-key", "none",
           "--features", "head", "--head", "0:0", "--permutations", "9", "--epochs", "60", "--permutation-epochs", "20",
           "--dims", "3", "--max-cells", "200", "--null-cells", "300", "--out", triana / "v.json", timeout=900)
    assert "folds of cells, not donors" in r.stderr
    j = json.loads((triana / "v.json").read_text())
    assert "cell folds" in j["input"]["donors"] or "folds" in j["input"]["donors"]
    gates = {g["name"]: g for g in j["results"]["data"]["gates"]}
    assert np.isfinite(gates["random"]["score"]) and np.isfinite(gates["leave_donor"]["score"])


def test_label_map_in_fit_and_ruler_check(triana, tmp_path):
    a = anndata.read_h5ad(TRIANA)
    a.obs["my_labels"] = ["cluster " + str(i % 3) for i in range(a.n_obs)]
    a.write_h5ad(tmp_path / "clusters.h5ad")
    m = tmp_path / "map.tsv"
    m.write_text("label\tstage\ncluster 0\tHSC\ncluster 1\tclassical_monocyte\ncluster 2\tnaive_B\n")
    j = json.loads(ok("ruler", "check", "default", "--labels-from", tmp_path / "clusters.h5ad", "--label-key",
                      "my_labels", "--label-map", m, "--json").stdout)
    assert {x["label"]: x["stage"] for x in j["labels_from"]["labels"]} == \
        {"cluster 0": "HSC", "cluster 1": "classical_monocyte", "cluster 2": "naive_B"}
    assert j["labels_from"]["unknown_labels"] == []
    e = fails("fit", "--operator", triana / "counts.scxop", "--train", tmp_path / "clusters.h5ad", "--label-key",
              "my_labels", "--donor-key", "batch", "--out", tmp_path / "x.scx")
    assert "no cell" in e.lower() or "stage" in e
    ok("fit", "--operator", triana / "counts.scxop", "--train", tmp_path / "clusters.h5ad", "--label-key", "my_labels",
       "--donor-key", "batch", "--label-map", m, "--features", "head", "--head", "0:0", "--epochs", "40", "--out", tmp_path / "m.scx")


def test_no_output_replaces_a_label_map_or_a_ruler(triana, tmp_path):
    # issue 23, item 3: every input of a command, not only the main one, is safe from --out
    m = tmp_path / "map.tsv"
    m.write_text("cluster 0\tHSC\n")
    before = m.read_bytes()
    e = fails("fit", "--operator", triana / "counts.scxop", "--train", TRIANA, "--donor-key", "batch",
              "--label-map", m, "--out", m)
    assert "refusing to overwrite the input file" in e and m.read_bytes() == before
    ruler = tmp_path / "ruler.json"
    ok("ruler", "export-default", "--out", ruler)
    before = ruler.read_bytes()
    e = fails("simulate", "--ruler", ruler, "--cells", "200", "--donors", "2", "--genes", "300", "--out", ruler)
    assert "refusing to overwrite the input file" in e and ruler.read_bytes() == before
    e = fails("validate", "--operator", triana / "counts.scxop", "--data", TRIANA, "--donor-key", "batch",
              "--ruler", ruler, "--out", ruler)
    assert "refusing to overwrite the input file" in e and ruler.read_bytes() == before


def test_hostile_bench_data_keys_stop_before_any_work(tmp_path):
    # the new config keys: out-of-range folds, an unknown input kind, a target sum <= 0, a
    # missing label map; each stops with one line naming the config and leaves no results
    for keys, code, text in [({"cell_folds": 1}, 1, "'cell_folds' must be between 2 and 1000"),
                             ({"input_kind": "log"}, 2, "expected detect, counts or lognorm, got 'log'"),
                             ({"input_target_sum": -5}, 1, "'input_target_sum' must be positive"),
                             ({"label_map": str(tmp_path / "absent.tsv")}, 1, "cannot open the label map")]:
        cfg = bench_config(tmp_path, TRIANA, label_key="cell_type", donor_key="batch", **keys)
        e = fails("bench", "--config", cfg, "--out", tmp_path / "out", code=code)
        assert text in e, e
        assert not (tmp_path / "out" / "results.json").exists()
