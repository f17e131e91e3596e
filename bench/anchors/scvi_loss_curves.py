"""scvi-tools' per-epoch training losses on run.py's 10k bed (seeds 0 and 1, 20 epochs), to set
beside scextract's (anchor_tool scvi prints "epoch_loss"): issue 21, item 9. Diagnostic, untimed.
  .venv-anchors/bin/python bench/anchors/scvi_loss_curves.py   # writes /tmp/scvi_hist.json
"""
import sys, json, numpy as np, anndata as ad, scanpy as sc, scvi, torch
sys.path.insert(0, "bench/anchors")
import anchors
torch.set_num_threads(2)
adata = ad.read_h5ad("bench/out/anchors/sim_10000.h5ad")
a = anchors.hvg_subset(adata, "seurat", 1000)
hv = a.var["highly_variable"].to_numpy()
counts = ad.AnnData(anchors.dense(adata.X[:, hv]))
out = {}
for seed in (0, 1):
    scvi.settings.seed = seed
    scvi.settings.dl_num_workers = 0
    scvi.model.SCVI.setup_anndata(counts)
    m = scvi.model.SCVI(counts)
    m.train(max_epochs=20, accelerator="cpu", devices=1, enable_progress_bar=False)
    h = m.history
    out[seed] = {k: [float(x) for x in h[k].iloc[:, 0].tolist()] for k in h if k in ("train_loss_epoch", "reconstruction_loss_train", "kl_local_train")}
json.dump(out, open("/tmp/scvi_hist.json", "w"))
print({s: {k: v[-1] for k, v in d.items()} for s, d in out.items()})
