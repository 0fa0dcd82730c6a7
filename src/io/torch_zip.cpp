#include "factorch/io/torch_zip.h"

#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <vector>

#include <torch/types.h>

#include "factorch/error.h"

namespace factorch::io {

namespace {

// ------------------------------------------------------------------------------ zip

uint32_t crc32(const char* data, size_t n) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) c = table[(c ^ static_cast<unsigned char>(data[i])) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint64_t le(const std::string& b, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}

// The stored (uncompressed) records of a zip archive, name → [offset, size) in `bytes`; every
// CRC checked. torch.save and pickle_save store records uncompressed.
std::map<std::string, std::pair<size_t, size_t>> zip_records(const std::string& b, const std::string& name) {
  const std::string corrupt = name + ": not a readable .pt file (corrupt zip archive: ";
  require(b.size() >= 22, corrupt + "too short)");
  // End of central directory: the last signature within the final 64 KiB + 22 bytes.
  size_t eocd = std::string::npos;
  const size_t lowest = b.size() > 65557 ? b.size() - 65557 : 0;
  for (size_t i = b.size() - 22 + 1; i-- > lowest;)
    if (le(b, i, 4) == 0x06054b50) {
      eocd = i;
      break;
    }
  require(eocd != std::string::npos, corrupt + "no end of central directory)");
  uint64_t count = le(b, eocd + 10, 2), cd_size = le(b, eocd + 12, 4), cd_offset = le(b, eocd + 16, 4);
  if (cd_offset == 0xFFFFFFFFu || count == 0xFFFF) {
    // Zip64: the locator sits just before the end record.
    require(eocd >= 20 && le(b, eocd - 20, 4) == 0x07064b50, corrupt + "bad zip64 locator)");
    const uint64_t at = le(b, eocd - 20 + 8, 8);
    require(at <= b.size() - 56 && le(b, at, 4) == 0x06064b50, corrupt + "bad zip64 end record)");
    count = le(b, at + 32, 8);
    cd_size = le(b, at + 40, 8);
    cd_offset = le(b, at + 48, 8);
  }
  require(cd_offset <= b.size() && cd_size <= b.size() - cd_offset, corrupt + "central directory out of bounds)");
  require(count <= cd_size / 46, corrupt + "too many entries)");
  std::map<std::string, std::pair<size_t, size_t>> out;
  size_t p = cd_offset;
  for (uint64_t e = 0; e < count; ++e) {
    require(p + 46 <= cd_offset + cd_size && le(b, p, 4) == 0x02014b50, corrupt + "bad central directory entry)");
    const uint64_t method = le(b, p + 10, 2), crc = le(b, p + 16, 4);
    uint64_t csize = le(b, p + 20, 4), usize = le(b, p + 24, 4), local = le(b, p + 42, 4);
    const size_t nlen = le(b, p + 28, 2), xlen = le(b, p + 30, 2), clen = le(b, p + 32, 2);
    require(p + 46 + nlen + xlen + clen <= cd_offset + cd_size, corrupt + "entry out of bounds)");
    const std::string entry = b.substr(p + 46, nlen);
    // Zip64 extra field: the 64-bit sizes and offset of the fields saturated at 0xFFFFFFFF.
    for (size_t x = p + 46 + nlen; x + 4 <= p + 46 + nlen + xlen;) {
      const uint64_t id = le(b, x, 2), len = le(b, x + 2, 2);
      require(x + 4 + len <= p + 46 + nlen + xlen, corrupt + "extra field out of bounds)");
      if (id == 1) {
        size_t f = x + 4;
        for (uint64_t* v : {&usize, &csize, &local}) {
          if (*v != 0xFFFFFFFFu) continue;
          require(f + 8 <= x + 4 + len, corrupt + "short zip64 field)");
          *v = le(b, f, 8);
          f += 8;
        }
      }
      x += 4 + len;
    }
    require(method == 0, name + ": not a readable .pt file (record " + entry + " is compressed; torch.save stores records)");
    require(csize == usize, corrupt + "record " + entry + " sizes disagree)");
    require(local <= b.size() && b.size() - local >= 30 && le(b, local, 4) == 0x04034b50,
            corrupt + "bad local header of " + entry + ")");
    const uint64_t data = local + 30 + le(b, local + 26, 2) + le(b, local + 28, 2);
    require(data <= b.size() && usize <= b.size() - data, corrupt + "record " + entry + " out of bounds)");
    require(crc32(b.data() + data, usize) == crc, corrupt + "CRC mismatch in " + entry + ")");
    out[entry] = {static_cast<size_t>(data), static_cast<size_t>(usize)};
    p += 46 + nlen + xlen + clen;
  }
  return out;
}

// ------------------------------------------------------------------------------ pickle

torch::ScalarType storage_dtype(const std::string& global, const std::string& name) {
  static const std::map<std::string, torch::ScalarType> types = {
      {"torch.DoubleStorage", torch::kFloat64},   {"torch.FloatStorage", torch::kFloat32},
      {"torch.HalfStorage", torch::kHalf},        {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kInt64},       {"torch.IntStorage", torch::kInt32},
      {"torch.ShortStorage", torch::kInt16},      {"torch.CharStorage", torch::kInt8},
      {"torch.ByteStorage", torch::kUInt8},       {"torch.BoolStorage", torch::kBool},
      {"torch.ComplexDoubleStorage", torch::kComplexDouble}, {"torch.ComplexFloatStorage", torch::kComplexFloat}};
  const auto it = types.find(global);
  require(it != types.end(), name + ": unsupported storage type " + global);
  return it->second;
}

// A pickle stack entry: a value, a MARK, or a global (module.name) waiting for REDUCE.
struct Item {
  enum Kind { Value, Mark, Global } kind = Value;
  c10::IValue value;
  std::string global;
};

class Unpickler {
 public:
  Unpickler(const std::string& bytes, size_t begin, size_t size, const std::string& name,
            const std::map<std::string, std::pair<size_t, size_t>>& records, const std::string& prefix)
      : b_(bytes), p_(begin), end_(begin + size), name_(name), records_(records), prefix_(prefix) {}

  c10::IValue run() {
    for (;;) {
      const unsigned char op = u(1);
      switch (op) {
        case 0x80: u(1); break;         // PROTO
        case 0x95: u(8); break;         // FRAME
        case '.': {                     // STOP
          require(stack_.size() == 1 && stack_[0].kind == Item::Value, bad("STOP with an unbalanced stack"));
          return stack_[0].value;
        }
        case '(': stack_.push_back({Item::Mark, {}, {}}); break;
        case '0': pop(); break;
        case '1': pop_mark(); break;
        case '2': require(!stack_.empty(), bad("DUP on an empty stack")); push_item(stack_.back()); break;
        case 'N': push(c10::IValue()); break;
        case 0x88: push(true); break;
        case 0x89: push(false); break;
        case 'K': push(static_cast<int64_t>(u(1))); break;
        case 'M': push(static_cast<int64_t>(u(2))); break;
        case 'J': push(static_cast<int64_t>(static_cast<int32_t>(u(4)))); break;
        case 0x8a: push(long_int(u(1))); break;
        case 0x8b: push(long_int(u(4))); break;
        case 'G': {
          const uint64_t raw = u_be(8);
          double d;
          std::memcpy(&d, &raw, 8);
          push(d);
          break;
        }
        case 'X': push(text(u(4))); break;
        case 0x8c: push(text(u(1))); break;
        case 0x8d: push(text(u(8))); break;
        case 'T': push(text(u(4))); break;  // BINSTRING (protocol ≤ 2 str)
        case 'U': push(text(u(1))); break;
        case 'B': push(text(u(4))); break;  // bytes kept as a string
        case 'C': push(text(u(1))); break;
        case 0x8e: push(text(u(8))); break;
        case ')': push(c10::ivalue::Tuple::create(std::vector<c10::IValue>{})); break;
        case 't': push(c10::ivalue::Tuple::create(pop_mark())); break;
        case 0x85: case 0x86: case 0x87: {
          std::vector<c10::IValue> items(op - 0x84);
          for (size_t i = items.size(); i-- > 0;) items[i] = pop();
          push(c10::ivalue::Tuple::create(std::move(items)));
          break;
        }
        case ']': push(c10::impl::GenericList(c10::AnyType::get())); break;
        case 'l': {
          c10::impl::GenericList list(c10::AnyType::get());
          for (auto& v : pop_mark()) list.push_back(std::move(v));
          push(list);
          break;
        }
        case 'a': { c10::IValue v = pop(); append(top(), {v}); break; }
        case 'e': { std::vector<c10::IValue> v = pop_mark(); append(top(), v); break; }
        case '}': push(new_dict()); break;
        case 'd': { c10::IValue d = new_dict(); set_items(d, pop_mark()); push(d); break; }
        case 's': { c10::IValue v = pop(), k = pop(); set_items(top(), {k, v}); break; }
        case 'u': { std::vector<c10::IValue> kv = pop_mark(); set_items(top(), kv); break; }
        case 'c': {
          const std::string module = line(), qualname = line();
          push_item({Item::Global, {}, module + "." + qualname});
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          const c10::IValue qualname = pop(), module = pop();
          require(module.isString() && qualname.isString(), bad("STACK_GLOBAL needs two strings"));
          push_item({Item::Global, {}, module.toStringRef() + "." + qualname.toStringRef()});
          break;
        }
        case 'q': memo(u(1)); break;
        case 'r': memo(u(4)); break;
        case 0x94: memo(memo_.size()); break;
        case 'h': get(u(1)); break;
        case 'j': get(u(4)); break;
        case 'Q': push(storage(pop())); break;  // BINPERSID
        case 'R': case 0x81: {                  // REDUCE, NEWOBJ
          const c10::IValue args = pop();
          require(!stack_.empty() && stack_.back().kind == Item::Global, bad("REDUCE without a class"));
          const std::string global = stack_.back().global;
          stack_.pop_back();
          require(args.isTuple(), bad("REDUCE arguments are not a tuple"));
          std::vector<c10::IValue> a;
          for (const auto& e : args.toTupleRef().elements()) a.push_back(e);
          push(call(global, a));
          break;
        }
        case 'b': pop(); require(!stack_.empty() && stack_.back().kind == Item::Value, bad("BUILD without an object")); break;
        default: {
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02x", op);
          throw Error(bad(std::string("unsupported pickle opcode ") + hex));
        }
      }
    }
  }

 private:
  std::string bad(const std::string& why) const { return name_ + ": not a readable .pt file (" + why + ")"; }

  uint64_t u(int n) {
    require(end_ - p_ >= static_cast<size_t>(n), bad("truncated pickle"));
    const uint64_t v = le(b_, p_, n);
    p_ += n;
    return v;
  }
  uint64_t u_be(int n) {
    require(end_ - p_ >= static_cast<size_t>(n), bad("truncated pickle"));
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(b_[p_ + i]);
    p_ += n;
    return v;
  }
  std::string text(uint64_t n) {
    require(n <= end_ - p_, bad("truncated pickle"));
    std::string s = b_.substr(p_, n);
    p_ += n;
    return s;
  }
  std::string line() {
    const size_t nl = b_.find('\n', p_);
    require(nl != std::string::npos && nl < end_ && nl - p_ <= 256, bad("bad GLOBAL"));
    std::string s = b_.substr(p_, nl - p_);
    p_ = nl + 1;
    return s;
  }
  int64_t long_int(uint64_t n) {
    require(n <= 8, bad("integer of " + std::to_string(n) + " bytes"));
    if (n == 0) return 0;
    uint64_t v = u(static_cast<int>(n));
    if (n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);  // sign-extend
    int64_t out;
    std::memcpy(&out, &v, 8);
    return out;
  }

  void push(c10::IValue v) { push_item({Item::Value, std::move(v), {}}); }
  void push_item(Item item) {
    require(stack_.size() < (1u << 20), bad("pickle stack too deep"));
    stack_.push_back(std::move(item));
  }
  // A global used as a value (a storage type in a persistent id) is its name.
  static c10::IValue value_of(Item& item) {
    return item.kind == Item::Global ? c10::IValue(item.global) : std::move(item.value);
  }
  c10::IValue pop() {
    require(!stack_.empty() && stack_.back().kind != Item::Mark, bad("pickle stack underflow"));
    c10::IValue v = value_of(stack_.back());
    stack_.pop_back();
    return v;
  }
  c10::IValue& top() {
    require(!stack_.empty() && stack_.back().kind == Item::Value, bad("pickle stack underflow"));
    return stack_.back().value;
  }
  std::vector<c10::IValue> pop_mark() {
    size_t m = stack_.size();
    while (m > 0 && stack_[m - 1].kind != Item::Mark) --m;
    require(m > 0, bad("no MARK on the pickle stack"));
    std::vector<c10::IValue> out;
    for (size_t i = m; i < stack_.size(); ++i) out.push_back(value_of(stack_[i]));
    stack_.resize(m - 1);
    return out;
  }
  void memo(uint64_t key) {
    require(!stack_.empty() && key < (1u << 24), bad("bad memo"));
    memo_[key] = stack_.back();
  }
  void get(uint64_t key) {
    const auto it = memo_.find(key);
    require(it != memo_.end(), bad("memo " + std::to_string(key) + " is not set"));
    push_item(it->second);
  }

  static c10::IValue new_dict() { return c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get()); }
  void set_items(c10::IValue& target, const std::vector<c10::IValue>& kv) {
    require(target.isGenericDict() && kv.size() % 2 == 0, bad("SETITEMS on a non-dict"));
    auto dict = target.toGenericDict();
    for (size_t i = 0; i < kv.size(); i += 2) {
      const c10::IValue& k = kv[i];
      require(k.isString() || k.isInt(), bad("a dict key that is neither a string nor an integer"));
      dict.insert_or_assign(k.isString() ? k.toStringRef() : std::to_string(k.toInt()), kv[i + 1]);
    }
  }
  void append(c10::IValue& target, const std::vector<c10::IValue>& items) {
    require(target.isList(), bad("APPEND on a non-list"));
    auto list = target.toList();
    for (const auto& v : items) list.push_back(v);
  }

  // BINPERSID ('storage', type, key, location, numel): the flat tensor of record data/<key>.
  c10::IValue storage(const c10::IValue& pid) {
    require(pid.isTuple(), bad("persistent id is not a tuple"));
    // A copy: indexing TupleElements (3 inline slots, else a vector) past 2 makes GCC 12 warn
    // -Warray-bounds about the inline slots even though a 5-tuple never uses them.
    const std::vector<c10::IValue> t = pid.toTupleRef().elements().vec();
    require(t.size() == 5 && t[0].isString() && t[0].toStringRef() == "storage" && t[2].isString() && t[4].isInt(),
            bad("persistent id is not ('storage', type, key, location, numel)"));
    require(t[1].isString(), bad("storage type is not a class"));
    const torch::ScalarType dtype = storage_dtype(t[1].toStringRef(), name_);
    const std::string& key = t[2].toStringRef();
    const auto cached = storages_.find(key);
    if (cached != storages_.end()) return cached->second;
    const auto rec = records_.find(prefix_ + "data/" + key);
    require(rec != records_.end(), bad("no record data/" + key));
    const int64_t numel = t[4].toInt();
    const size_t item = c10::elementSize(dtype);
    require(numel >= 0 && static_cast<uint64_t>(numel) <= rec->second.second / item,
            bad("storage " + key + " of " + std::to_string(numel) + " elements in a record of " +
                std::to_string(rec->second.second) + " bytes"));
    torch::Tensor s = torch::empty({numel}, torch::TensorOptions().dtype(dtype));
    if (numel > 0) std::memcpy(s.data_ptr(), b_.data() + rec->second.first, numel * item);
    if (dtype == torch::kBool)
      require(!s.view(torch::kUInt8).gt(1).any().item<bool>(), bad("bool storage " + key + " holds values other than 0/1"));
    storages_[key] = s;
    return s;
  }

  std::vector<int64_t> ints(const c10::IValue& v, const std::string& what) {
    require(v.isTuple(), bad(what + " is not a tuple"));
    std::vector<int64_t> out;
    for (const auto& e : v.toTupleRef().elements()) {
      require(e.isInt(), bad(what + " holds a non-integer"));
      out.push_back(e.toInt());
    }
    return out;
  }

  // storage.as_strided(size, stride, offset), after checking that the view stays inside it.
  torch::Tensor rebuild_tensor(const std::vector<c10::IValue>& a) {
    require(a.size() >= 4 && a[0].isTensor() && a[1].isInt(), bad("bad tensor arguments"));
    const torch::Tensor s = a[0].toTensor();
    const std::vector<int64_t> size = ints(a[2], "tensor size"), stride = ints(a[3], "tensor stride");
    require(size.size() == stride.size() && size.size() <= 64, bad("tensor size and stride disagree"));
    const int64_t offset = a[1].toInt();
    int64_t last = offset;  // the largest element index the view touches
    bool empty = false;
    for (size_t i = 0; i < size.size(); ++i) {
      require(size[i] >= 0 && size[i] < (int64_t{1} << 40) && stride[i] >= 0 && stride[i] < (int64_t{1} << 40),
              bad("tensor size or stride out of range"));
      if (size[i] == 0) empty = true;
      else last += (size[i] - 1) * stride[i];
    }
    require(offset >= 0 && (empty || last < s.numel()), bad("tensor view outside its storage"));
    if (empty) return torch::empty(size, s.options());
    return s.as_strided(size, stride, offset);
  }

  c10::IValue call(const std::string& global, const std::vector<c10::IValue>& a) {
    if (global == "torch._utils._rebuild_tensor_v2" || global == "torch._utils._rebuild_tensor") return rebuild_tensor(a);
    if (global == "torch._utils._rebuild_parameter" || global == "torch._utils._rebuild_parameter_with_state") {
      require(!a.empty() && a[0].isTensor(), bad("bad Parameter arguments"));
      return a[0];
    }
    if (global == "collections.OrderedDict" || global == "builtins.dict") {
      require(a.empty(), bad("OrderedDict with arguments"));
      return new_dict();
    }
    // torch::pickle_save tags typed containers: restore_type_tag(value, "Dict[str, Any]").
    if (global == "torch.jit._pickle.restore_type_tag") {
      require(!a.empty(), bad("bad restore_type_tag"));
      return a[0];
    }
    if (global == "torch.jit._pickle.build_intlist" || global == "torch.jit._pickle.build_doublelist" ||
        global == "torch.jit._pickle.build_boollist" || global == "torch.jit._pickle.build_tensorlist") {
      require(a.size() == 1 && a[0].isList(), bad("bad " + global));
      return a[0];
    }
    throw Error(bad("unsupported pickled class " + global + " (only tensors, dicts, lists and numbers)"));
  }

  const std::string& b_;
  size_t p_, end_;
  const std::string& name_;
  const std::map<std::string, std::pair<size_t, size_t>>& records_;
  std::string prefix_;
  std::vector<Item> stack_;
  std::map<uint64_t, Item> memo_;
  std::map<std::string, torch::Tensor> storages_;
};

}  // namespace

c10::IValue read_torch_zip(const std::string& bytes, const std::string& name) {
  require(bytes.size() >= 4 && bytes.compare(0, 4, "PK\x03\x04") == 0,
          name + (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x80
                      ? ": a .pt in the legacy torch.save format; save it with the default zip format"
                      : ": not a .pt file (no zip archive)"));
  const auto records = zip_records(bytes, name);
  // Records live under one folder, named after the file by Python ("d/data.pkl") or
  // "archive/" by LibTorch.
  std::string pkl;
  for (const auto& r : records) {
    const std::string& n = r.first;
    if (n == "data.pkl" || (n.size() > 9 && n.compare(n.size() - 9, 9, "/data.pkl") == 0 &&
                            n.find('/') == n.size() - 9)) {
      require(pkl.empty(), name + ": not a readable .pt file (two data.pkl records)");
      pkl = n;
    }
  }
  require(!pkl.empty(), name + ": not a readable .pt file (no data.pkl record)");
  const std::string prefix = pkl.substr(0, pkl.size() - 8);
  const auto order = records.find(prefix + "byteorder");
  if (order != records.end())
    require(bytes.compare(order->second.first, order->second.second, "little") == 0,
            name + ": a big-endian .pt file is not supported");
  const auto& rec = records.at(pkl);
  return Unpickler(bytes, rec.first, rec.second, name, records, prefix).run();
}

}  // namespace factorch::io
