#pragma once
/// @file torch_checkpoint.hpp
/// @brief PyTorch checkpoints (torch.save's zip format, the default since 1.6) read
/// without running anything from the file.
///
/// The archive holds `<folder>/data.pkl` (a pickle of the saved object),
/// `<folder>/data/<key>` (raw little-endian storages) and `<folder>/version`; the folder
/// may have any name. data.pkl is read by a restricted pickle machine that knows only the
/// handful of globals a state dict needs (collections.OrderedDict,
/// torch._utils._rebuild_tensor_v2 / _rebuild_parameter[_with_state], the typed storage
/// classes such as torch.FloatStorage, torch.UntypedStorage and the torch dtypes); any
/// other global (os.system, builtins.eval, a model class, ...) is refused by name before
/// anything could be called. The legacy non-zip format is refused with a hint.

#include "scextract/core/tensor.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace scx {

/// What read_torch_checkpoint() found.
struct TorchCheckpoint {
    /// The state dict's tensors in file order, names as stored (a 'module.' prefix is
    /// kept; model/ strips it). Contiguous tensors have empty strides; views keep their
    /// strides and storage offset; tensors saved from one storage share one pointer.
    TensorMap tensors;
    /// State-dict entries that are not tensors, as "name (type)", e.g. "step (int)".
    std::vector<std::string> skipped;
    /// The key of the wrapper dict the state dict was found under ('model_state_dict',
    /// 'state_dict' or 'model'); empty when the file's top-level object is the state dict.
    std::string wrapper_key;
    /// The zip's top-level folder ("best_model", "archive", ...); empty for parse_torch_pickle().
    std::string archive_folder;
    /// The contents of `<folder>/version` (torch 1.13 writes 3); 0 when absent.
    std::int64_t format_version = 0;
};

/// Reads a torch.save zip checkpoint. Throws scx::Error naming @p path for: an empty or
/// unreadable file, a file that is not a zip (random bytes; the legacy pickle format, with
/// how to convert it), a truncated or damaged zip, a zip without `<folder>/data.pkl`, a big-endian
/// archive, a pickle that ends early or holds an unknown opcode, a refused global, a missing or
/// wrongly sized storage, a view reaching outside its storage, a view with more elements than
/// its storage (zero or overlapping strides: expand(); a state dict never needs one and it
/// would be materialised at full size), an object holding no tensors, a pickle over its
/// budgets (restricted_pickle.hpp), an entry whose declared size the archive cannot hold or
/// this machine's memory cannot ("would need N GB"), and an entry failing its CRC-32.
TorchCheckpoint read_torch_checkpoint(const std::string& path);

/// Supplies the bytes of storage @p key, which must hold exactly @p nbytes bytes (the
/// loader checks). Throws scx::Error naming the storage when it is missing or wrongly sized.
using TorchStorageLoader =
    std::function<std::shared_ptr<const std::vector<std::byte>>(const std::string& key, std::uint64_t nbytes)>;

/// The same as read_torch_checkpoint() for a data.pkl already in memory (tests, other
/// containers); @p what names it in messages. Each storage key is loaded once and shared.
TorchCheckpoint parse_torch_pickle(std::span<const std::byte> pickle, const TorchStorageLoader& load_storage,
                                   const std::string& what);

} // namespace scx
