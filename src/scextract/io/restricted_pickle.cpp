#include "scextract/io/restricted_pickle.hpp"

#include "scextract/core/error.hpp"
#include "scextract/core/little_endian.hpp"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>

namespace scx::pickle {

ValuePtr Value::get(const std::string& key) const {
    if (kind != Kind::dict) return nullptr;
    for (const auto& [k, v] : entries)
        if (k->kind == Kind::string && k->text == key) return v;
    return nullptr;
}

ValuePtr make_none() { return std::make_shared<Value>(); }

ValuePtr make_bool(bool b) {
    auto v = std::make_shared<Value>();
    v->kind = Value::Kind::boolean;
    v->boolean = b;
    return v;
}

ValuePtr make_int(std::int64_t i) {
    auto v = std::make_shared<Value>();
    v->kind = Value::Kind::integer;
    v->integer = i;
    return v;
}

ValuePtr make_string(std::string s) {
    auto v = std::make_shared<Value>();
    v->kind = Value::Kind::string;
    v->text = std::move(s);
    return v;
}

ValuePtr make_global(std::string module, std::string name) {
    auto v = std::make_shared<Value>();
    v->kind = Value::Kind::global;
    v->text = module + "." + name;
    v->module = std::move(module);
    v->name = std::move(name);
    return v;
}

ValuePtr make_object(std::string type_name, std::any payload) {
    auto v = std::make_shared<Value>();
    v->kind = Value::Kind::object;
    v->text = std::move(type_name);
    v->payload = std::move(payload);
    return v;
}

std::string type_name(const Value& v) {
    switch (v.kind) {
    case Value::Kind::none: return "None";
    case Value::Kind::boolean: return "bool";
    case Value::Kind::integer: return "int";
    case Value::Kind::floating: return "float";
    case Value::Kind::string: return "str";
    case Value::Kind::bytes: return "bytes";
    case Value::Kind::tuple: return "tuple";
    case Value::Kind::list: return "list";
    case Value::Kind::dict: return "dict";
    case Value::Kind::set: return "set";
    case Value::Kind::global: return v.text;
    case Value::Kind::object: return v.text;
    }
    return "?";
}

ValuePtr Resolver::find_class(const std::string& module, const std::string& name, const std::string& what) {
    throw Error(fmt::format("{}: refusing pickle global '{}.{}'", what, module, name));
}

ValuePtr Resolver::reduce(const Value& callable, const Value&, const std::string& what) {
    throw Error(fmt::format("{}: refusing to call '{}' from a pickle", what, type_name(callable)));
}

ValuePtr Resolver::persistent_load(const Value&, const std::string& what) {
    throw Error(fmt::format("{}: pickle uses a persistent id, which is not supported here", what));
}

void Resolver::build(Value& target, const Value&, const std::string& what) {
    throw Error(fmt::format("{}: refusing to set the state of a pickled '{}'", what, type_name(target)));
}

Arena& Arena::operator=(Arena&& other) noexcept {
    if (this != &other) {
        release();
        owned_ = std::move(other.owned_);
        other.owned_.clear();
    }
    return *this;
}

Arena::~Arena() { release(); }

void Arena::release() noexcept {
    // Empty every container first: afterwards no value refers to another, so freeing
    // them cannot recurse, and cycles are broken.
    for (auto& v : owned_) {
        v->items.clear();
        v->entries.clear();
        v->index.clear();
    }
    owned_.clear();
}

namespace {

// Budgets for what a pickle may make the machine do. A state dict of a large model has a
// few thousand values, a few hundred keys of under a hundred bytes each.
constexpr std::uint64_t kMaxObjects = std::uint64_t{1} << 20;  // values created plus references pushed or memoised
constexpr std::size_t kMaxKeyBytes = std::size_t{1} << 16;      // one dict key's hashed text
constexpr std::uint64_t kMaxKeyWork = std::uint64_t{1} << 26;   // all dict keys' hashed text together

// Opcode bytes (Python's pickletools names).
enum Op : unsigned char {
    MARK = '(', STOP = '.', POP = '0', POP_MARK = '1', DUP = '2', FLOAT = 'F', INT = 'I', BININT = 'J',
    BININT1 = 'K', LONG = 'L', BININT2 = 'M', NONE = 'N', PERSID = 'P', BINPERSID = 'Q', REDUCE = 'R',
    STRING = 'S', BINSTRING = 'T', SHORT_BINSTRING = 'U', UNICODE = 'V', BINUNICODE = 'X', APPEND = 'a',
    BUILD = 'b', GLOBAL = 'c', DICT = 'd', EMPTY_DICT = '}', APPENDS = 'e', GET = 'g', BINGET = 'h',
    INST = 'i', LONG_BINGET = 'j', LIST = 'l', EMPTY_LIST = ']', OBJ = 'o', PUT = 'p', BINPUT = 'q',
    LONG_BINPUT = 'r', SETITEM = 's', TUPLE = 't', EMPTY_TUPLE = ')', SETITEMS = 'u', BINFLOAT = 'G',
    PROTO = 0x80, NEWOBJ = 0x81, EXT1 = 0x82, EXT2 = 0x83, EXT4 = 0x84, TUPLE1 = 0x85, TUPLE2 = 0x86,
    TUPLE3 = 0x87, NEWTRUE = 0x88, NEWFALSE = 0x89, LONG1 = 0x8a, LONG4 = 0x8b, BINBYTES = 'B',
    SHORT_BINBYTES = 'C', SHORT_BINUNICODE = 0x8c, BINUNICODE8 = 0x8d, BINBYTES8 = 0x8e, EMPTY_SET = 0x8f,
    ADDITEMS = 0x90, FROZENSET = 0x91, NEWOBJ_EX = 0x92, STACK_GLOBAL = 0x93, MEMOIZE = 0x94, FRAME = 0x95,
    BYTEARRAY8 = 0x96, NEXT_BUFFER = 0x97, READONLY_BUFFER = 0x98,
};

const char* op_name(unsigned char op) {
    switch (op) {
    case MARK: return "MARK";
    case STOP: return "STOP";
    case POP: return "POP";
    case POP_MARK: return "POP_MARK";
    case DUP: return "DUP";
    case FLOAT: return "FLOAT";
    case INT: return "INT";
    case BININT: return "BININT";
    case BININT1: return "BININT1";
    case LONG: return "LONG";
    case BININT2: return "BININT2";
    case NONE: return "NONE";
    case PERSID: return "PERSID";
    case BINPERSID: return "BINPERSID";
    case REDUCE: return "REDUCE";
    case STRING: return "STRING";
    case BINSTRING: return "BINSTRING";
    case SHORT_BINSTRING: return "SHORT_BINSTRING";
    case UNICODE: return "UNICODE";
    case BINUNICODE: return "BINUNICODE";
    case APPEND: return "APPEND";
    case BUILD: return "BUILD";
    case GLOBAL: return "GLOBAL";
    case DICT: return "DICT";
    case EMPTY_DICT: return "EMPTY_DICT";
    case APPENDS: return "APPENDS";
    case GET: return "GET";
    case BINGET: return "BINGET";
    case INST: return "INST";
    case LONG_BINGET: return "LONG_BINGET";
    case LIST: return "LIST";
    case EMPTY_LIST: return "EMPTY_LIST";
    case OBJ: return "OBJ";
    case PUT: return "PUT";
    case BINPUT: return "BINPUT";
    case LONG_BINPUT: return "LONG_BINPUT";
    case SETITEM: return "SETITEM";
    case TUPLE: return "TUPLE";
    case EMPTY_TUPLE: return "EMPTY_TUPLE";
    case SETITEMS: return "SETITEMS";
    case BINFLOAT: return "BINFLOAT";
    case PROTO: return "PROTO";
    case NEWOBJ: return "NEWOBJ";
    case EXT1: return "EXT1";
    case EXT2: return "EXT2";
    case EXT4: return "EXT4";
    case TUPLE1: return "TUPLE1";
    case TUPLE2: return "TUPLE2";
    case TUPLE3: return "TUPLE3";
    case NEWTRUE: return "NEWTRUE";
    case NEWFALSE: return "NEWFALSE";
    case LONG1: return "LONG1";
    case LONG4: return "LONG4";
    case BINBYTES: return "BINBYTES";
    case SHORT_BINBYTES: return "SHORT_BINBYTES";
    case SHORT_BINUNICODE: return "SHORT_BINUNICODE";
    case BINUNICODE8: return "BINUNICODE8";
    case BINBYTES8: return "BINBYTES8";
    case EMPTY_SET: return "EMPTY_SET";
    case ADDITEMS: return "ADDITEMS";
    case FROZENSET: return "FROZENSET";
    case NEWOBJ_EX: return "NEWOBJ_EX";
    case STACK_GLOBAL: return "STACK_GLOBAL";
    case MEMOIZE: return "MEMOIZE";
    case FRAME: return "FRAME";
    case BYTEARRAY8: return "BYTEARRAY8";
    case NEXT_BUFFER: return "NEXT_BUFFER";
    case READONLY_BUFFER: return "READONLY_BUFFER";
    default: return nullptr;
    }
}

// A dict key as a self-delimiting string, so that equal Python keys (1, 1.0 and True
// included) land on one entry, as they do in a Python dict. The string may grow to
// kMaxKeyBytes and no further: shared tuples can form a DAG that a few hundred pickle bytes
// expand to 2^40 entries, and the walk stops as soon as the text it writes passes the bound
// (each value visited adds at least two bytes), so its work is bounded too.
void hash_key(const Value& v, std::string& out, int depth, const std::string& what) {
    if (depth > 64) throw Error(fmt::format("{}: pickled dict key is nested too deeply", what));
    if (out.size() > kMaxKeyBytes)
        throw Error(fmt::format("{}: pickled dict key expands to more than {} bytes (a state dict's keys are names)",
                                what, kMaxKeyBytes));
    switch (v.kind) {
    case Value::Kind::none: out += "N;"; return;
    case Value::Kind::boolean: out += v.boolean ? "i1;" : "i0;"; return;
    case Value::Kind::integer: out += fmt::format("i{};", v.integer); return;
    case Value::Kind::floating: {
        const double f = v.floating;
        if (std::isfinite(f) && f == std::trunc(f) && std::fabs(f) < 9.2e18)
            out += fmt::format("i{};", static_cast<std::int64_t>(f));
        else
            out += fmt::format("f{:a};", f);
        return;
    }
    case Value::Kind::string:
    case Value::Kind::bytes:
    case Value::Kind::global:
        if (out.size() + v.text.size() > kMaxKeyBytes)
            throw Error(fmt::format("{}: pickled dict key is longer than {} bytes (a state dict's keys are names)",
                                    what, kMaxKeyBytes));
        out += fmt::format("{}{}:", v.kind == Value::Kind::string ? 's' : v.kind == Value::Kind::bytes ? 'b' : 'g',
                           v.text.size()) +
               v.text;
        return;
    case Value::Kind::tuple:
        out += fmt::format("t{}:", v.items.size());
        for (const auto& item : v.items) hash_key(*item, out, depth + 1, what);
        return;
    case Value::Kind::object: out += fmt::format("o{};", static_cast<const void*>(&v)); return;
    case Value::Kind::list:
    case Value::Kind::dict:
    case Value::Kind::set: break;
    }
    throw Error(fmt::format("{}: pickled dict key of unhashable type '{}'", what, type_name(v)));
}

class Machine {
  public:
    Machine(std::span<const std::byte> data, Resolver& resolver, const std::string& what)
        : data_(data), resolver_(resolver), what_(what) {}

    Unpickled run() {
        Unpickled result;
        while (true) {
            if (pos_ >= data_.size())
                throw Error(fmt::format("{}: pickle ends early at offset {} (no STOP opcode)", what_, pos_));
            op_offset_ = pos_;
            op_ = static_cast<unsigned char>(data_[pos_++]);
            if (op_ == STOP) {
                result.root = pop();
                result.protocol = protocol_;
                result.arena = std::move(arena_);
                return result;
            }
            step();
        }
    }

  private:
    // --- reading operands ---
    [[noreturn]] void fail(const std::string& msg) const {
        const char* name = op_name(op_);
        throw Error(fmt::format("{}: {} ({} at offset {})", what_, msg, name ? name : "?", op_offset_));
    }
    void need(std::uint64_t n) const {
        if (n > data_.size() - pos_)
            fail(fmt::format("pickle ends early: {} more bytes needed at offset {}, {} left", n, pos_,
                             data_.size() - pos_));
    }
    std::uint64_t read_uint(int nbytes) {
        need(static_cast<std::uint64_t>(nbytes));
        const std::uint64_t v = load_le(data_.data() + pos_, static_cast<std::size_t>(nbytes));
        pos_ += static_cast<std::size_t>(nbytes);
        return v;
    }
    std::string read_bytes(std::uint64_t n) {
        need(n);
        std::string s(reinterpret_cast<const char*>(data_.data() + pos_), static_cast<std::size_t>(n));
        pos_ += static_cast<std::size_t>(n);
        return s;
    }
    std::string read_line() {
        const auto start = pos_;
        while (pos_ < data_.size() && data_[pos_] != std::byte{'\n'}) ++pos_;
        if (pos_ >= data_.size()) fail("pickle ends early inside a text operand");
        std::string s(reinterpret_cast<const char*>(data_.data() + start), pos_ - start);
        ++pos_; // the newline
        return s;
    }
    // Little-endian two's complement of LONG1 / LONG4.
    std::int64_t read_long(std::uint64_t n) {
        if (n > 8) fail(fmt::format("integer of {} bytes does not fit in 64 bits", n));
        need(n);
        if (n == 0) return 0;
        std::uint64_t v = load_le(data_.data() + pos_, static_cast<std::size_t>(n));
        pos_ += static_cast<std::size_t>(n);
        if (n < 8 && (v >> (8 * n - 1)) & 1u) v |= ~std::uint64_t{0} << (8 * n); // sign-extend
        return static_cast<std::int64_t>(v);
    }

    // --- the stack ---
    std::size_t base() const { return marks_.empty() ? 0 : marks_.back(); }
    ValuePtr pop() {
        if (stack_.size() <= base()) fail("pickle stack underflow");
        auto v = std::move(stack_.back());
        stack_.pop_back();
        return v;
    }
    const ValuePtr& top() const {
        if (stack_.size() <= base()) fail("pickle stack underflow");
        return stack_.back();
    }
    std::vector<ValuePtr> pop_mark() {
        if (marks_.empty()) fail("no MARK to pop to");
        const auto m = marks_.back();
        marks_.pop_back();
        std::vector<ValuePtr> items(std::make_move_iterator(stack_.begin() + static_cast<std::ptrdiff_t>(m)),
                                    std::make_move_iterator(stack_.end()));
        stack_.resize(m);
        return items;
    }
    // Every value created and every reference pushed or memoised counts against kMaxObjects,
    // so memory and work stay proportional to the budget whatever the opcodes (a file of DUPs,
    // GETs of one big container, ...).
    void count() {
        if (++objects_ > kMaxObjects)
            fail(fmt::format("pickle creates more than {} objects (a state dict needs a few thousand)", kMaxObjects));
    }
    void push_value(ValuePtr v) {
        count();
        stack_.push_back(std::move(v));
    }
    void push(ValuePtr v) {
        count();
        if (v->is_container()) arena_.add(v);
        stack_.push_back(std::move(v));
    }
    ValuePtr container(Value::Kind kind, std::vector<ValuePtr> items = {}) {
        auto v = std::make_shared<Value>();
        v->kind = kind;
        v->items = std::move(items);
        return v;
    }
    void set_item(Value& dict, ValuePtr key, ValuePtr value) {
        if (dict.kind != Value::Kind::dict) fail(fmt::format("cannot set an item on a pickled '{}'", type_name(dict)));
        std::string h;
        hash_key(*key, h, 0, what_);
        key_work_ += h.size();
        if (key_work_ > kMaxKeyWork)
            fail(fmt::format("pickled dict keys add up to more than {} bytes (a state dict's keys are names)", kMaxKeyWork));
        auto [it, inserted] = dict.index.emplace(std::move(h), dict.entries.size());
        if (inserted) dict.entries.emplace_back(std::move(key), std::move(value));
        else dict.entries[it->second].second = std::move(value);
    }
    void memo_put(std::uint64_t index) {
        count();
        memo_[index] = top();
    }
    void memo_get(std::uint64_t index) {
        auto it = memo_.find(index);
        if (it == memo_.end()) fail(fmt::format("memo entry {} was never stored", index));
        push_value(it->second);
    }
    void push_string(Value::Kind kind, std::uint64_t n) {
        auto v = std::make_shared<Value>();
        v->kind = kind;
        v->text = read_bytes(n);
        push_value(std::move(v));
    }
    [[noreturn]] void unsupported(const char* why) const {
        throw Error(fmt::format("{}: "
                                "pickle opcode {} (0x{:02x}) at offset {} is not supported: {}", what_, op_name(op_),
                                op_, op_offset_, why));
    }

    void step() {
        switch (op_) {
        case PROTO: {
            const auto p = read_uint(1);
            if (p > 5) fail(fmt::format("pickle protocol {} is newer than 5", p));
            protocol_ = static_cast<int>(p);
            break;
        }
        case FRAME: read_uint(8); break; // frames only hint at buffering
        case MARK: marks_.push_back(stack_.size()); break;
        case POP:
            if (stack_.size() > base()) stack_.pop_back();
            else pop_mark();
            break;
        case POP_MARK: pop_mark(); break;
        case DUP: {
            auto v = top(); // a copy: push_back may reallocate under a reference
            push_value(std::move(v));
            break;
        }
        case NONE: push_value(make_none()); break;
        case NEWTRUE: push_value(make_bool(true)); break;
        case NEWFALSE: push_value(make_bool(false)); break;
        case BININT: push_value(make_int(static_cast<std::int32_t>(static_cast<std::uint32_t>(read_uint(4))))); break;
        case BININT1: push_value(make_int(static_cast<std::int64_t>(read_uint(1)))); break;
        case BININT2: push_value(make_int(static_cast<std::int64_t>(read_uint(2)))); break;
        case LONG1: push_value(make_int(read_long(read_uint(1)))); break;
        case LONG4: {
            const auto n = static_cast<std::int32_t>(static_cast<std::uint32_t>(read_uint(4)));
            if (n < 0) fail("negative LONG4 length");
            push_value(make_int(read_long(static_cast<std::uint64_t>(n))));
            break;
        }
        case BINFLOAT: {
            need(8);
            std::uint64_t bits = 0; // big-endian on disk
            for (int i = 0; i < 8; ++i) bits = (bits << 8) | static_cast<std::uint64_t>(data_[pos_ + i]);
            pos_ += 8;
            auto v = std::make_shared<Value>();
            v->kind = Value::Kind::floating;
            v->floating = std::bit_cast<double>(bits);
            push_value(std::move(v));
            break;
        }
        case SHORT_BINUNICODE: push_string(Value::Kind::string, read_uint(1)); break;
        case BINUNICODE: push_string(Value::Kind::string, read_uint(4)); break;
        case BINUNICODE8: push_string(Value::Kind::string, read_uint(8)); break;
        case SHORT_BINSTRING: push_string(Value::Kind::string, read_uint(1)); break;
        case BINSTRING: {
            const auto n = static_cast<std::int32_t>(static_cast<std::uint32_t>(read_uint(4)));
            if (n < 0) fail("negative BINSTRING length");
            push_string(Value::Kind::string, static_cast<std::uint64_t>(n));
            break;
        }
        case SHORT_BINBYTES: push_string(Value::Kind::bytes, read_uint(1)); break;
        case BINBYTES: push_string(Value::Kind::bytes, read_uint(4)); break;
        case BINBYTES8:
        case BYTEARRAY8: push_string(Value::Kind::bytes, read_uint(8)); break;
        case EMPTY_TUPLE: push(container(Value::Kind::tuple)); break;
        case EMPTY_LIST: push(container(Value::Kind::list)); break;
        case EMPTY_DICT: push(container(Value::Kind::dict)); break;
        case EMPTY_SET: push(container(Value::Kind::set)); break;
        case TUPLE: push(container(Value::Kind::tuple, pop_mark())); break;
        case TUPLE1:
        case TUPLE2:
        case TUPLE3: {
            std::vector<ValuePtr> items(op_ - TUPLE1 + 1);
            for (auto i = items.size(); i-- > 0;) items[i] = pop();
            push(container(Value::Kind::tuple, std::move(items)));
            break;
        }
        case LIST: push(container(Value::Kind::list, pop_mark())); break;
        case FROZENSET: push(container(Value::Kind::set, pop_mark())); break;
        case DICT: {
            auto items = pop_mark();
            if (items.size() % 2 != 0) fail("odd number of items for a dict");
            auto d = container(Value::Kind::dict);
            for (std::size_t i = 0; i < items.size(); i += 2) set_item(*d, items[i], items[i + 1]);
            push(std::move(d));
            break;
        }
        case APPEND: {
            auto v = pop();
            const auto& list = top();
            if (list->kind != Value::Kind::list) fail(fmt::format("cannot append to a pickled '{}'", type_name(*list)));
            list->items.push_back(std::move(v));
            break;
        }
        case APPENDS: {
            auto items = pop_mark();
            const auto& list = top();
            if (list->kind != Value::Kind::list) fail(fmt::format("cannot append to a pickled '{}'", type_name(*list)));
            for (auto& v : items) list->items.push_back(std::move(v));
            break;
        }
        case ADDITEMS: {
            auto items = pop_mark();
            const auto& set = top();
            if (set->kind != Value::Kind::set) fail(fmt::format("cannot add items to a pickled '{}'", type_name(*set)));
            for (auto& v : items) set->items.push_back(std::move(v));
            break;
        }
        case SETITEM: {
            auto v = pop();
            auto k = pop();
            set_item(*top(), std::move(k), std::move(v));
            break;
        }
        case SETITEMS: {
            auto items = pop_mark();
            if (items.size() % 2 != 0) fail("odd number of items for SETITEMS");
            const auto dict = top();
            for (std::size_t i = 0; i < items.size(); i += 2) set_item(*dict, items[i], items[i + 1]);
            break;
        }
        case BINPUT: memo_put(read_uint(1)); break;
        case LONG_BINPUT: memo_put(read_uint(4)); break;
        case MEMOIZE: memo_put(memo_.size()); break;
        case BINGET: memo_get(read_uint(1)); break;
        case LONG_BINGET: memo_get(read_uint(4)); break;
        case GLOBAL: {
            auto module = read_line();
            auto name = read_line();
            push(resolver_.find_class(module, name, what_));
            break;
        }
        case STACK_GLOBAL: {
            auto name = pop();
            auto module = pop();
            if (module->kind != Value::Kind::string || name->kind != Value::Kind::string)
                fail("STACK_GLOBAL needs two strings");
            push(resolver_.find_class(module->text, name->text, what_));
            break;
        }
        case REDUCE: {
            auto args = pop();
            auto callable = pop();
            if (args->kind != Value::Kind::tuple) fail("REDUCE arguments are not a tuple");
            push(resolver_.reduce(*callable, *args, what_));
            break;
        }
        case BUILD: {
            auto state = pop();
            resolver_.build(*top(), *state, what_);
            break;
        }
        case BINPERSID: {
            auto pid = pop();
            push(resolver_.persistent_load(*pid, what_));
            break;
        }
        case NEWOBJ:
        case NEWOBJ_EX:
        case INST:
        case OBJ: unsupported("it creates Python class instances"); break;
        case EXT1:
        case EXT2:
        case EXT4: unsupported("it needs the copyreg extension registry"); break;
        case NEXT_BUFFER:
        case READONLY_BUFFER: unsupported("out-of-band buffers are not available"); break;
        case INT:
        case LONG:
        case FLOAT:
        case STRING:
        case UNICODE:
        case GET:
        case PUT:
        case PERSID: unsupported("text pickles (protocol 0) are not read"); break;
        default:
            throw Error(fmt::format("{}: unknown pickle opcode 0x{:02x} at offset {}", what_, op_, op_offset_));
        }
    }

    // The arena is declared first so that it outlives the stack and memo references.
    Arena arena_;
    std::span<const std::byte> data_;
    Resolver& resolver_;
    const std::string& what_;
    std::size_t pos_ = 0, op_offset_ = 0;
    unsigned char op_ = 0;
    int protocol_ = 0;
    std::vector<ValuePtr> stack_;
    std::vector<std::size_t> marks_;
    std::unordered_map<std::uint64_t, ValuePtr> memo_;
    std::uint64_t objects_ = 0, key_work_ = 0;
};

} // namespace

Unpickled unpickle(std::span<const std::byte> data, Resolver& resolver, const std::string& what) {
    Machine m(data, resolver, what);
    return m.run();
}

} // namespace scx::pickle
