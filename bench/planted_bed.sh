# Sourced by the bench/ scripts: the simulated bed and the planted model's operator they share.
#
#   planted_bed DIR [CELLS] [DONORS]
# makes, when absent, DIR/sim.h5ad (CELLS cells, DONORS donors, 1,000 genes, seed 42), a tiny
# checkpoint with the simulation's programs planted (DIR/planted) and its attention atlas over
# a 400-gene panel (DIR/planted.scxop). Cells simulated later with seed 42 and 1,000 genes
# share the design (genes, programs), so the operator's panel is found in them. Needs $S (the
# scextract binary).
planted_bed() {
  local dir=$1 cells=${2:-16000} donors=${3:-24}
  mkdir -p "$dir"
  [ -f "$dir/sim.h5ad" ] || $S simulate --cells "$cells" --donors "$donors" --genes 1000 --out "$dir/sim.h5ad"
  [ -f "$dir/planted/best_model.pt" ] || $S make-model --out "$dir/planted" --size tiny --plant "$dir/sim.h5ad" --force
  [ -f "$dir/planted.scxop" ] || $S export --model "$dir/planted" --reference "$dir/sim.h5ad" --panel 400 \
    --mode atlas --cells 300 --out "$dir/planted.scxop"
}
