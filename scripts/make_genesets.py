#!/usr/bin/env python3
"""Build data/genesets/scextract_immune_v1.gmt from two pinned PyPI packages.

Standard library only. Deterministic: the output depends only on the bytes of
the data files inside the two packages, whose sha256 are checked.

Sources (see data/genesets/README.md for licences and attribution):
  * pegasuspy 1.10.2 (BSD-3-Clause), wheel
      pegasuspy-1.10.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
    files pegasus/data_files/h.all.v7.5.1.symbols.gmt (MSigDB v7.5.1 Hallmark)
          pegasus/data_files/c2.cp.v7.5.1.symbols.gmt (MSigDB v7.5.1 C2:CP)
    MSigDB v7.5.1 is CC BY 4.0 except third-party subsets; only HALLMARK_*,
    REACTOME_* and WP_* sets are kept (KEGG_*, BIOCARTA_*, PID_*, SA_*, SIG_*,
    NABA_*, WNT_* are dropped).
  * cytopus 1.3.4 (MIT), sdist cytopus-1.3.4.tar.gz
    file cytopus/data/Cytopus_1.31nc.txt (a pickled networkx DiGraph: the
    Spectra / Cytopus immune knowledge base, with a licence per gene set).
    Only sets whose own licence is MIT or CC BY 4.0 are kept (NCI sets are
    non-commercial; sets with no stated licence are dropped).

  * pegasuspy 1.10.2 (BSD-3-Clause), same wheel,
    file pegasus/annotate_cluster/human_immune_cell_markers.json: positive
    ('GENE+') markers of each immune cell type and subtype -> PEGASUS_MARKERS_*.

Subsetting rule for every set: symbols stripped, empty and duplicate symbols
removed (first occurrence kept), then kept only if 5 <= size <= 500
(3 <= size <= 500 for the PEGASUS_MARKERS_* cell-type marker lists).

Usage:
  python3 scripts/make_genesets.py                       # pip-downloads both pinned files
  python3 scripts/make_genesets.py --pegasus WHL --cytopus TGZ   # use local files
  options: --out PATH (default data/genesets/scextract_immune_v1.gmt)
"""
import argparse
import hashlib
import io
import json
import os
import pickle
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile

PEGASUS_VERSION = "1.10.2"
PEGASUS_WHEEL = ("pegasuspy-1.10.2-cp311-cp311-"
                 "manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
PEGASUS_WHEEL_SHA256 = "76cb096a198aeb2a8cfd07970e7c46c313bbc894a48c7194902428adbc7a7408"
HALLMARK_MEMBER = "pegasus/data_files/h.all.v7.5.1.symbols.gmt"
HALLMARK_SHA256 = "de0fdee38af2611a284973f565df1a98bfa2385aecd7ba2ee3fe51208e753b40"
C2CP_MEMBER = "pegasus/data_files/c2.cp.v7.5.1.symbols.gmt"
C2CP_SHA256 = "d24ccc3c7ecb9b5de54b0ac29a6db78d0465812dd1778c36fa19e53e9ad48f3e"
MARKERS_MEMBER = "pegasus/annotate_cluster/human_immune_cell_markers.json"
MARKERS_SHA256 = "ac2108c9665ec1ebe11c67b326481ed0ee8b664332eb2e4ddefd6d5595a5cc06"

CYTOPUS_VERSION = "1.3.4"
CYTOPUS_SDIST = "cytopus-1.3.4.tar.gz"
CYTOPUS_SDIST_SHA256 = "91b6889fe3b180590c8f4847f08aa1879d367b35bbe102e5dbe6669d49643295"
CYTOPUS_MEMBER = "cytopus-1.3.4/cytopus/data/Cytopus_1.31nc.txt"
CYTOPUS_MEMBER_SHA256 = "e09d0d7fbeb0af12946857851a0077d73dc2425d0cce4740099e49a98a32526d"

C2CP_KEEP_PREFIXES = ("REACTOME_", "WP_")
CYTOPUS_KEEP_LICENCES = {
    "MIT": "MIT",
    "Creative Commons Attribution 4.0 Unported License": "CC-BY-4.0",
    "Creative Commons Attribution 4.0 International License": "CC-BY-4.0",
}
MIN_SIZE, MAX_SIZE = 5, 500
MIN_SIZE_MARKERS = 3  # cell-type marker lists are short by design
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                           "data", "genesets", "scextract_immune_v1.gmt")


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def check(name, data, expected):
    got = sha256(data)
    if expected is not None and got != expected:
        sys.exit(f"sha256 mismatch for {name}: got {got}, expected {expected}")
    return got


def pip_download(tmp):
    """Download the two pinned files (no dependencies, no build)."""
    base = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", tmp]
    subprocess.check_call(base + [
        "--only-binary", ":all:", "--implementation", "cp", "--python-version", "3.11",
        "--abi", "cp311", "--platform", "manylinux2014_x86_64",
        f"pegasuspy=={PEGASUS_VERSION}"])
    # cytopus has only an sdist; pip prepares its metadata (setuptools, no compile)
    subprocess.check_call(base + ["--no-binary", ":all:", f"cytopus=={CYTOPUS_VERSION}"])
    return os.path.join(tmp, PEGASUS_WHEEL), os.path.join(tmp, CYTOPUS_SDIST)


def clean_genes(genes):
    out, seen = [], set()
    for g in genes:
        g = g.strip()
        if g and g not in seen:
            seen.add(g)
            out.append(g)
    return out


def read_gmt(text):
    for line in text.splitlines():
        if not line.strip():
            continue
        f = line.split("\t")
        yield f[0].strip(), f[1].strip(), f[2:]


class _Stub:
    """Stands in for networkx graph classes; keeps the pickled __dict__."""

    def __init__(self, *a, **k):
        pass

    def __setstate__(self, state):
        self.__dict__.update(state)


class _GraphUnpickler(pickle.Unpickler):
    ALLOWED = {("networkx.classes.digraph", "DiGraph"),
               ("networkx.classes.reportviews", "NodeView")}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return _Stub
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def cytopus_sets(data):
    g = _GraphUnpickler(io.BytesIO(data)).load().__dict__
    nodes, succ = g["_node"], g["_succ"]
    out = []
    for name in sorted(n for n, a in nodes.items() if a.get("class") is None):
        attr = nodes[name]
        lic = attr.get("license")
        lic = lic.strip() if isinstance(lic, str) else None
        if lic not in CYTOPUS_KEEP_LICENCES:
            continue
        genes = sorted(t for t, e in succ[name].items()
                       if e.get("class") == "gene_OF" and nodes[t].get("class") == "gene")
        cells = sorted(t for t, e in succ[name].items()
                       if nodes[t].get("class") == "cell_type")
        desc = (f"cytopus {CYTOPUS_VERSION} Cytopus_1.31nc;"
                f"license={CYTOPUS_KEEP_LICENCES[lic]};"
                f"topic={attr.get('gene_set_topic')};"
                f"cell_type={','.join(cells) or 'NA'};source={attr.get('author')}")
        out.append(("CYTOPUS_" + name, re.sub(r"\s+", " ", desc), genes))
    return out


def pegasus_marker_sets(data):
    """Positive markers ('GENE+') of every cell type and subtype, recursively."""
    out = []

    def walk(node, parents):
        for ct in node.get("cell_types", []):
            genes = [g[:-1] for m in ct.get("markers", []) for g in m.get("genes", [])
                     if g.endswith("+")]
            path = parents + [ct["name"]]
            tag = re.sub(r"[^A-Za-z0-9]+", "_", ct["name"]).strip("_").upper()
            desc = (f"pegasuspy {PEGASUS_VERSION} human_immune_cell_markers.json;"
                    f"license=BSD-3-Clause;cell_type={' > '.join(path)}")
            out.append(("PEGASUS_MARKERS_" + tag, desc, genes))
            if "subtypes" in ct:
                walk(ct["subtypes"], path)

    walk(json.loads(data.decode("utf-8")), [])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pegasus", help=f"path to {PEGASUS_WHEEL}")
    ap.add_argument("--cytopus", help=f"path to {CYTOPUS_SDIST}")
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        peg, cyt = args.pegasus, args.cytopus
        if not (peg and cyt):
            dpeg, dcyt = pip_download(tmp)
            peg, cyt = peg or dpeg, cyt or dcyt
        peg_bytes = open(peg, "rb").read()
        cyt_bytes = open(cyt, "rb").read()

    shas = {PEGASUS_WHEEL: check(PEGASUS_WHEEL, peg_bytes, PEGASUS_WHEEL_SHA256),
            CYTOPUS_SDIST: check(CYTOPUS_SDIST, cyt_bytes, CYTOPUS_SDIST_SHA256)}
    with zipfile.ZipFile(io.BytesIO(peg_bytes)) as z:
        h_data = z.read(HALLMARK_MEMBER)
        c2_data = z.read(C2CP_MEMBER)
        mk_data = z.read(MARKERS_MEMBER)
    with tarfile.open(fileobj=io.BytesIO(cyt_bytes), mode="r:gz") as t:
        cy_data = t.extractfile(CYTOPUS_MEMBER).read()
    shas[HALLMARK_MEMBER] = check(HALLMARK_MEMBER, h_data, HALLMARK_SHA256)
    shas[C2CP_MEMBER] = check(C2CP_MEMBER, c2_data, C2CP_SHA256)
    shas[MARKERS_MEMBER] = check(MARKERS_MEMBER, mk_data, MARKERS_SHA256)
    shas[CYTOPUS_MEMBER] = check(CYTOPUS_MEMBER, cy_data, CYTOPUS_MEMBER_SHA256)

    candidates = []
    for name, url, genes in read_gmt(h_data.decode("utf-8")):
        assert name.startswith("HALLMARK_"), name
        candidates.append((name, f"MSigDB v7.5.1 H;license=CC-BY-4.0;{url}", genes))
    for name, url, genes in read_gmt(c2_data.decode("utf-8")):
        if name.startswith(C2CP_KEEP_PREFIXES):
            sub = "CP:REACTOME" if name.startswith("REACTOME_") else "CP:WIKIPATHWAYS"
            candidates.append((name, f"MSigDB v7.5.1 {sub};license=CC-BY-4.0;{url}", genes))
    candidates.extend(cytopus_sets(cy_data))
    candidates.extend(pegasus_marker_sets(mk_data))

    rows, names, dropped = [], set(), 0
    for name, desc, genes in candidates:
        genes = clean_genes(genes)
        lo = MIN_SIZE_MARKERS if name.startswith("PEGASUS_MARKERS_") else MIN_SIZE
        if not (lo <= len(genes) <= MAX_SIZE):
            dropped += 1
            continue
        if name in names:
            sys.exit(f"duplicate set name {name}")
        names.add(name)
        rows.append("\t".join([name, desc] + genes))

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(rows) + "\n")
    for k, v in shas.items():
        print(f"sha256 {v}  {k}")
    print(f"wrote {len(rows)} sets ({dropped} dropped by size rule) to {args.out}")


if __name__ == "__main__":
    main()
