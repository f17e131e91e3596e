#pragma once
/// @file torch_checkpoint_writer.hpp
/// @brief Writing a state dict in PyTorch's zip serialization, as
/// `torch.save(model.state_dict(), path)` does, so that torch.load (1.13 and 2.x,
/// `weights_only=True` included) and read_torch_checkpoint() open it.
///
/// The archive holds, under one folder named after the file's stem (best_model.pt ->
/// `best_model/`), in this order:
///  - `data.pkl`: a protocol-2 pickle of a `collections.OrderedDict` mapping each name to
///    `torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, False,
///    OrderedDict())`, where `storage` is the persistent id `('storage', torch.FloatStorage
///    (HalfStorage, ...), key, 'cpu', numel)`; the dict carries the `_metadata` attribute
///    that `nn.Module.state_dict()` sets (set with BUILD), one `{'version': 1}` entry per
///    module prefix of the keys. The opcodes, their order and the memo use are those of
///    Python's pickler on such a dict.
///  - `byteorder`: `little` (written by torch >= 2.1, ignored by older readers).
///  - `data/<key>`: each storage's raw little-endian bytes; keys are "0", "1", ... in order of
///    first use, and the records appear sorted by key as strings, as torch writes them.
///  - `version`: `3\n`.
/// Every record is stored uncompressed, and its bytes start at a multiple of 64 from the
/// start of the file (padding in a local-header extra field with id "FB", as torch does),
/// so the storages can be memory-mapped.

#include "scextract/core/tensor.hpp"

#include <string>

namespace scx {

/// How write_torch_checkpoint() lays tensors out.
struct TorchWriteOptions {
    /// The archive's top-level folder; empty = the file's stem, as torch.save names it.
    std::string archive_name;
    /// Write every tensor as its own contiguous storage (row-major, offset 0), dropping views
    /// and storage sharing. When false (the default), tensors keep their strides and storage
    /// offset, and tensors that share one storage (the same `Tensor::storage` pointer, one
    /// dtype) are written as one storage, exactly as torch.save writes views; a storage shared
    /// by tensors of different dtypes (possible only after reading a safetensors file) is
    /// materialised per tensor either way.
    bool contiguous = false;
    /// Set the OrderedDict's `_metadata` (module prefixes derived from the key names, each
    /// `{'version': 1}`), as a real `model.state_dict()` has. False writes a plain OrderedDict.
    bool module_metadata = true;
};

/// Writes @p tensors (in the order given) as a torch.save zip archive at @p path,
/// atomically: a temporary file beside @p path is renamed into place once complete, so a
/// failure leaves no file. Supports every TensorDType (float32, float16, bfloat16, float64,
/// int64, int32, int16, int8, uint8, bool). Throws scx::Error naming @p path on an empty
/// or duplicate name, a view reaching outside its storage, an archive that would exceed
/// 4 GiB (zip64 is not written), or an I/O failure.
void write_torch_checkpoint(const TensorMap& tensors, const std::string& path, const TorchWriteOptions& options = {});

} // namespace scx
