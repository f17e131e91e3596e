#pragma once
/// @file restricted_pickle.hpp
/// @brief A Python pickle reader that never imports or calls anything: a small VM for
/// the opcodes of protocols 2-5 whose GLOBAL, REDUCE, BUILD and persistent-id steps are
/// all decided by a PickleResolver. The default resolver refuses every one of them, so a
/// pickle can only yield plain data (None, bool, int, float, str, bytes, tuple, list,
/// dict, set). Used by torch_checkpoint.cpp; not meant for use outside io/.

#include <any>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace scx::pickle {

struct Value;
using ValuePtr = std::shared_ptr<Value>;

/// One unpickled Python value. Containers hold shared pointers, like Python references:
/// a memoised list appended to twice is one list.
struct Value {
    enum class Kind { none, boolean, integer, floating, string, bytes, tuple, list, dict, set, global, object };
    Kind kind = Kind::none;
    bool boolean = false;
    std::int64_t integer = 0;
    double floating = 0.0;
    std::string text;                                   ///< string / bytes contents; global: "module.name"; object: type name
    std::vector<ValuePtr> items;                        ///< tuple, list, set
    std::vector<std::pair<ValuePtr, ValuePtr>> entries; ///< dict, in insertion order
    std::unordered_map<std::string, std::size_t> index; ///< dict: hashed key -> position in entries
    std::string module, name;                           ///< global
    std::any payload;                                   ///< object: whatever the resolver made

    [[nodiscard]] bool is_container() const {
        return kind == Kind::tuple || kind == Kind::list || kind == Kind::dict || kind == Kind::set;
    }
    /// The dict value stored under string key @p key, or nullptr.
    [[nodiscard]] ValuePtr get(const std::string& key) const;
};

ValuePtr make_none();
ValuePtr make_bool(bool b);
ValuePtr make_int(std::int64_t i);
ValuePtr make_string(std::string s);
ValuePtr make_global(std::string module, std::string name);
/// An opaque object of type @p type_name carrying @p payload (a tensor, a storage, ...).
ValuePtr make_object(std::string type_name, std::any payload);

/// Python's name for the value's type, for messages ("int", "dict", "torch.Tensor", ...).
std::string type_name(const Value& v);

/// Decides everything a pickle could otherwise use to run code. Each hook throws to refuse;
/// @p what names the pickle's source for messages. The defaults refuse everything.
class Resolver {
  public:
    virtual ~Resolver() = default;
    /// GLOBAL / STACK_GLOBAL: the value pushed for module.name.
    virtual ValuePtr find_class(const std::string& module, const std::string& name, const std::string& what);
    /// REDUCE: calls @p callable (a value find_class returned) with the tuple @p args.
    virtual ValuePtr reduce(const Value& callable, const Value& args, const std::string& what);
    /// BINPERSID: the object a persistent id stands for.
    virtual ValuePtr persistent_load(const Value& pid, const std::string& what);
    /// BUILD: applies @p state to @p target (in place).
    virtual void build(Value& target, const Value& state, const std::string& what);
};

/// Owns every container an unpickling created. Its destructor empties them one by one
/// before they are freed, so deeply nested or self-referencing (cyclic) pickles neither
/// overflow the stack nor leak.
class Arena {
  public:
    Arena() = default;
    Arena(const Arena&) = delete;
    Arena& operator=(const Arena&) = delete;
    Arena(Arena&&) noexcept = default;
    Arena& operator=(Arena&&) noexcept;
    ~Arena();
    void add(const ValuePtr& v) { owned_.push_back(v); }

  private:
    void release() noexcept;
    std::vector<ValuePtr> owned_;
};

/// The result of unpickle(): the root value, valid while this object lives.
struct Unpickled {
    Arena arena;
    ValuePtr root;
    int protocol = 0; ///< from PROTO; 0 when the pickle has none
};

/// Runs the pickle in @p data. Throws scx::Error naming @p what for a pickle that ends
/// early (no STOP), an unknown or unsupported opcode (named with its byte and offset),
/// malformed operands, and whatever @p resolver refuses. Work is bounded whatever the bytes:
/// at most 2^20 values created plus references pushed or memoised ("more than N objects"),
/// a dict key's hashed text at most 64 KiB (shared tuples forming a DAG stop there instead
/// of expanding to 2^40 entries) and all keys' text at most 64 MiB.
Unpickled unpickle(std::span<const std::byte> data, Resolver& resolver, const std::string& what);

} // namespace scx::pickle
