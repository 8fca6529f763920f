// QualifiedName, LocalizedText, ExtensionObject, DiagnosticInfo, Variant and DataValue
// (Part 6, 5.2.2.11-17).
#include <fmt/format.h>

#include "connect/opcua/types.h"

namespace shopfloor::connect::opcua {

namespace {

constexpr uint8_t kArrayFlag = 0x80;
constexpr uint8_t kDimensionsFlag = 0x40;
constexpr uint8_t kTypeMask = 0x3F;

// Largest number of dimensions we accept for a matrix.
constexpr uint32_t kMaxDimensions = 32;

constexpr std::string_view kTypeNames[] = {
    "Null",      "Boolean",       "SByte",          "Byte",       "Int16",        "UInt16",       "Int32",
    "UInt32",    "Int64",         "UInt64",         "Float",      "Double",       "String",       "DateTime",
    "Guid",      "ByteString",    "XmlElement",     "NodeId",     "ExpandedNodeId", "StatusCode", "QualifiedName",
    "LocalizedText", "ExtensionObject", "DataValue", "Variant",   "DiagnosticInfo"};

core::Status EncodeScalar(Encoder& e, const Scalar& s) {
  switch (static_cast<BuiltinType>(s.index())) {
    case BuiltinType::kNull: return core::Status::OK();
    case BuiltinType::kBoolean: e.Boolean(std::get<bool>(s)); break;
    case BuiltinType::kSByte: e.SByte(std::get<int8_t>(s)); break;
    case BuiltinType::kByte: e.Byte(std::get<uint8_t>(s)); break;
    case BuiltinType::kInt16: e.Int16(std::get<int16_t>(s)); break;
    case BuiltinType::kUInt16: e.UInt16(std::get<uint16_t>(s)); break;
    case BuiltinType::kInt32: e.Int32(std::get<int32_t>(s)); break;
    case BuiltinType::kUInt32: e.UInt32(std::get<uint32_t>(s)); break;
    case BuiltinType::kInt64: e.Int64(std::get<int64_t>(s)); break;
    case BuiltinType::kUInt64: e.UInt64(std::get<uint64_t>(s)); break;
    case BuiltinType::kFloat: e.Float(std::get<float>(s)); break;
    case BuiltinType::kDouble: e.Double(std::get<double>(s)); break;
    case BuiltinType::kString: e.String(std::get<std::string>(s)); break;
    case BuiltinType::kDateTime: e.Int64(std::get<DateTime>(s).ticks); break;
    case BuiltinType::kGuid: Encode(e, std::get<Guid>(s)); break;
    case BuiltinType::kByteString: e.String(std::get<ByteString>(s).bytes); break;
    case BuiltinType::kXmlElement: e.String(std::get<XmlElement>(s).xml); break;
    case BuiltinType::kNodeId: Encode(e, std::get<NodeId>(s)); break;
    case BuiltinType::kExpandedNodeId: Encode(e, std::get<ExpandedNodeId>(s)); break;
    case BuiltinType::kStatusCode: e.UInt32(std::get<StatusCode>(s).code); break;
    case BuiltinType::kQualifiedName: Encode(e, std::get<QualifiedName>(s)); break;
    case BuiltinType::kLocalizedText: Encode(e, std::get<LocalizedText>(s)); break;
    case BuiltinType::kExtensionObject: Encode(e, std::get<ExtensionObject>(s)); break;
    case BuiltinType::kDataValue: return EncodeDataValue(e, *std::get<Box<DataValue>>(s));
    case BuiltinType::kVariant: return EncodeVariant(e, *std::get<Box<Variant>>(s));
    case BuiltinType::kDiagnosticInfo: Encode(e, *std::get<Box<DiagnosticInfo>>(s)); break;
  }
  return core::Status::OK();
}

template <typename T>
core::Status DecodeInto(Decoder& d, Scalar* out) {
  T v{};
  SF_RETURN_IF_ERROR(Decode(d, &v));
  *out = std::move(v);
  return core::Status::OK();
}

template <typename T>
core::Status DecodeBoxed(Decoder& d, Scalar* out) {
  T v{};
  SF_RETURN_IF_ERROR(Decode(d, &v));
  *out = Box<T>(std::move(v));
  return core::Status::OK();
}

template <typename T, core::Status (Decoder::*Read)(T*)>
core::Status DecodeFixed(Decoder& d, Scalar* out) {
  T v{};
  SF_RETURN_IF_ERROR((d.*Read)(&v));
  *out = v;
  return core::Status::OK();
}

core::Status DecodeScalar(Decoder& d, BuiltinType type, Scalar* out) {
  std::string text;
  switch (type) {
    case BuiltinType::kNull: *out = std::monostate{}; return core::Status::OK();
    case BuiltinType::kBoolean: return DecodeFixed<bool, &Decoder::Boolean>(d, out);
    case BuiltinType::kSByte: return DecodeFixed<int8_t, &Decoder::SByte>(d, out);
    case BuiltinType::kByte: return DecodeFixed<uint8_t, &Decoder::Byte>(d, out);
    case BuiltinType::kInt16: return DecodeFixed<int16_t, &Decoder::Int16>(d, out);
    case BuiltinType::kUInt16: return DecodeFixed<uint16_t, &Decoder::UInt16>(d, out);
    case BuiltinType::kInt32: return DecodeFixed<int32_t, &Decoder::Int32>(d, out);
    case BuiltinType::kUInt32: return DecodeFixed<uint32_t, &Decoder::UInt32>(d, out);
    case BuiltinType::kInt64: return DecodeFixed<int64_t, &Decoder::Int64>(d, out);
    case BuiltinType::kUInt64: return DecodeFixed<uint64_t, &Decoder::UInt64>(d, out);
    case BuiltinType::kFloat: return DecodeFixed<float, &Decoder::Float>(d, out);
    case BuiltinType::kDouble: return DecodeFixed<double, &Decoder::Double>(d, out);
    case BuiltinType::kString:
      SF_RETURN_IF_ERROR(d.String(&text));
      *out = std::move(text);
      return core::Status::OK();
    case BuiltinType::kDateTime: {
      int64_t ticks = 0;
      SF_RETURN_IF_ERROR(d.Int64(&ticks));
      *out = DateTime{ticks};
      return core::Status::OK();
    }
    case BuiltinType::kGuid: return DecodeInto<Guid>(d, out);
    case BuiltinType::kByteString:
      SF_RETURN_IF_ERROR(d.String(&text));
      *out = ByteString{std::move(text)};
      return core::Status::OK();
    case BuiltinType::kXmlElement:
      SF_RETURN_IF_ERROR(d.String(&text));
      *out = XmlElement{std::move(text)};
      return core::Status::OK();
    case BuiltinType::kNodeId: return DecodeInto<NodeId>(d, out);
    case BuiltinType::kExpandedNodeId: return DecodeInto<ExpandedNodeId>(d, out);
    case BuiltinType::kStatusCode: {
      uint32_t code = 0;
      SF_RETURN_IF_ERROR(d.UInt32(&code));
      *out = StatusCode{code};
      return core::Status::OK();
    }
    case BuiltinType::kQualifiedName: return DecodeInto<QualifiedName>(d, out);
    case BuiltinType::kLocalizedText: return DecodeInto<LocalizedText>(d, out);
    case BuiltinType::kExtensionObject: return DecodeInto<ExtensionObject>(d, out);
    case BuiltinType::kDataValue: return DecodeBoxed<DataValue>(d, out);
    case BuiltinType::kVariant: return DecodeBoxed<Variant>(d, out);
    case BuiltinType::kDiagnosticInfo: return DecodeBoxed<DiagnosticInfo>(d, out);
  }
  return d.Error(fmt::format("unknown built-in type {}", static_cast<int>(type)));
}

std::string Quote(std::string_view s) { return fmt::format("\"{}\"", s); }

}  // namespace

std::string_view BuiltinTypeName(BuiltinType type) {
  auto idx = static_cast<size_t>(type);
  return idx <= kMaxBuiltinType ? kTypeNames[idx] : std::string_view("Unknown");
}

std::string QualifiedName::ToString() const {
  return namespace_index == 0 ? name : fmt::format("{}:{}", namespace_index, name);
}

void Encode(Encoder& e, const QualifiedName& v) {
  e.UInt16(v.namespace_index);
  e.String(v.name);
}

core::Status Decode(Decoder& d, QualifiedName* v) {
  SF_RETURN_IF_ERROR(d.UInt16(&v->namespace_index));
  return d.String(&v->name);
}

void Encode(Encoder& e, const LocalizedText& v) {
  uint8_t mask = (v.locale.empty() ? 0 : 0x01) | (v.text.empty() ? 0 : 0x02);
  e.Byte(mask);
  if (mask & 0x01) e.String(v.locale);
  if (mask & 0x02) e.String(v.text);
}

core::Status Decode(Decoder& d, LocalizedText* v) {
  uint8_t mask = 0;
  SF_RETURN_IF_ERROR(d.Byte(&mask));
  v->locale.clear();
  v->text.clear();
  if (mask & ~0x03) return d.Error(fmt::format("LocalizedText mask 0x{:02x} has unknown bits", mask));
  if (mask & 0x01) SF_RETURN_IF_ERROR(d.String(&v->locale));
  if (mask & 0x02) SF_RETURN_IF_ERROR(d.String(&v->text));
  return core::Status::OK();
}

void Encode(Encoder& e, const ExtensionObject& v) {
  Encode(e, v.type_id);
  e.Byte(static_cast<uint8_t>(v.encoding));
  if (v.encoding != ExtensionObject::Encoding::kNone) e.String(v.body);
}

core::Status Decode(Decoder& d, ExtensionObject* v) {
  SF_RETURN_IF_ERROR(Decode(d, &v->type_id));
  uint8_t encoding = 0;
  SF_RETURN_IF_ERROR(d.Byte(&encoding));
  if (encoding > 2) return d.Error(fmt::format("ExtensionObject encoding {} is not 0, 1 or 2", encoding));
  v->encoding = static_cast<ExtensionObject::Encoding>(encoding);
  v->body.clear();
  if (encoding != 0) SF_RETURN_IF_ERROR(d.String(&v->body));
  return core::Status::OK();
}

void Encode(Encoder& e, const DiagnosticInfo& v) {
  uint8_t mask = (v.symbolic_id ? 0x01 : 0) | (v.namespace_uri ? 0x02 : 0) | (v.localized_text ? 0x04 : 0) |
                 (v.locale ? 0x08 : 0) | (v.additional_info ? 0x10 : 0) | (v.inner_status_code ? 0x20 : 0) |
                 (v.inner_diagnostic_info ? 0x40 : 0);
  e.Byte(mask);
  // Field order on the wire differs from the mask order: locale precedes localized text.
  if (v.symbolic_id) e.Int32(*v.symbolic_id);
  if (v.namespace_uri) e.Int32(*v.namespace_uri);
  if (v.locale) e.Int32(*v.locale);
  if (v.localized_text) e.Int32(*v.localized_text);
  if (v.additional_info) e.String(*v.additional_info);
  if (v.inner_status_code) e.UInt32(*v.inner_status_code);
  if (v.inner_diagnostic_info) Encode(e, **v.inner_diagnostic_info);
}

core::Status SkipDiagnosticInfos(Decoder& d) {
  uint32_t n = 0;
  SF_RETURN_IF_ERROR(d.ArrayLength(&n));
  for (uint32_t i = 0; i < n; ++i) {
    DiagnosticInfo info;
    SF_RETURN_IF_ERROR(Decode(d, &info));
  }
  return core::Status::OK();
}

core::Status Decode(Decoder& d, DiagnosticInfo* v) {
  SF_RETURN_IF_ERROR(d.Enter("DiagnosticInfo"));
  *v = DiagnosticInfo{};
  uint8_t mask = 0;
  core::Status s = d.Byte(&mask);
  auto read_i32 = [&d](std::optional<int32_t>* field) {
    int32_t x = 0;
    core::Status st = d.Int32(&x);
    if (st.ok()) *field = x;
    return st;
  };
  if (s.ok() && (mask & 0x80)) s = d.Error(fmt::format("DiagnosticInfo mask 0x{:02x} has unknown bits", mask));
  if (s.ok() && (mask & 0x01)) s = read_i32(&v->symbolic_id);
  if (s.ok() && (mask & 0x02)) s = read_i32(&v->namespace_uri);
  if (s.ok() && (mask & 0x08)) s = read_i32(&v->locale);
  if (s.ok() && (mask & 0x04)) s = read_i32(&v->localized_text);
  if (s.ok() && (mask & 0x10)) {
    std::string info;
    s = d.String(&info);
    if (s.ok()) v->additional_info = std::move(info);
  }
  if (s.ok() && (mask & 0x20)) {
    uint32_t code = 0;
    s = d.UInt32(&code);
    if (s.ok()) v->inner_status_code = code;
  }
  if (s.ok() && (mask & 0x40)) {
    DiagnosticInfo inner;
    s = Decode(d, &inner);
    if (s.ok()) v->inner_diagnostic_info = Box<DiagnosticInfo>(std::move(inner));
  }
  d.Leave();
  return s;
}

core::Status EncodeVariant(Encoder& e, const Variant& v) {
  if (!v.is_array) {
    if (v.scalar.index() == static_cast<size_t>(BuiltinType::kVariant)) {
      return core::Status::InvalidArgument("opcua: a scalar Variant cannot hold a Variant");
    }
    e.Byte(static_cast<uint8_t>(v.scalar.index()));
    return EncodeScalar(e, v.scalar);
  }
  if (v.array_type == BuiltinType::kNull || static_cast<uint8_t>(v.array_type) > kMaxBuiltinType) {
    return core::Status::InvalidArgument("opcua: a Variant array needs a built-in element type");
  }
  e.Byte(static_cast<uint8_t>(v.array_type) | kArrayFlag | (v.dimensions.empty() ? 0 : kDimensionsFlag));
  e.Int32(static_cast<int32_t>(v.elements.size()));
  for (const Scalar& element : v.elements) {
    if (element.index() != static_cast<size_t>(v.array_type)) {
      return core::Status::InvalidArgument(fmt::format("opcua: {} array holds a {} element",
                                                       BuiltinTypeName(v.array_type),
                                                       BuiltinTypeName(static_cast<BuiltinType>(element.index()))));
    }
    SF_RETURN_IF_ERROR(EncodeScalar(e, element));
  }
  if (!v.dimensions.empty()) {
    e.Int32(static_cast<int32_t>(v.dimensions.size()));
    for (int32_t dim : v.dimensions) e.Int32(dim);
  }
  return core::Status::OK();
}

core::Status Decode(Decoder& d, Variant* v) {
  SF_RETURN_IF_ERROR(d.Enter("Variant"));
  *v = Variant{};
  uint8_t mask = 0;
  core::Status s = d.Byte(&mask);
  const auto type = static_cast<BuiltinType>(mask & kTypeMask);
  if (s.ok() && static_cast<uint8_t>(type) > kMaxBuiltinType) {
    s = d.Error(fmt::format("Variant type {} is not a built-in type", static_cast<int>(type)));
  }
  if (s.ok() && !(mask & kArrayFlag)) {
    if (mask & kDimensionsFlag) {
      s = d.Error("Variant has dimensions without an array");
    } else if (type == BuiltinType::kVariant) {
      s = d.Error("a scalar Variant cannot hold a Variant");
    } else {
      s = DecodeScalar(d, type, &v->scalar);
    }
  } else if (s.ok()) {
    uint32_t count = 0;
    if (type == BuiltinType::kNull) s = d.Error("Variant array of type Null");
    if (s.ok()) s = d.ArrayLength(&count, 1);
    v->is_array = true;
    v->array_type = type;
    if (s.ok()) v->elements.resize(count);
    for (uint32_t i = 0; s.ok() && i < count; ++i) s = DecodeScalar(d, type, &v->elements[i]);
    if (s.ok() && (mask & kDimensionsFlag)) {
      uint32_t dims = 0;
      s = d.ArrayLength(&dims, 4);
      if (s.ok() && dims > kMaxDimensions) s = d.Error(fmt::format("Variant has {} dimensions", dims));
      if (s.ok()) v->dimensions.resize(dims);
      for (uint32_t i = 0; s.ok() && i < dims; ++i) s = d.Int32(&v->dimensions[i]);
    }
  }
  d.Leave();
  return s;
}

core::Status EncodeDataValue(Encoder& e, const DataValue& v) {
  uint8_t mask = (v.value ? 0x01 : 0) | (v.status ? 0x02 : 0) | (v.source_timestamp ? 0x04 : 0) |
                 (v.server_timestamp ? 0x08 : 0) | (v.source_picoseconds ? 0x10 : 0) |
                 (v.server_picoseconds ? 0x20 : 0);
  e.Byte(mask);
  if (v.value) SF_RETURN_IF_ERROR(EncodeVariant(e, *v.value));
  if (v.status) e.UInt32(*v.status);
  if (v.source_timestamp) e.Int64(*v.source_timestamp);
  if (v.source_picoseconds) e.UInt16(*v.source_picoseconds);
  if (v.server_timestamp) e.Int64(*v.server_timestamp);
  if (v.server_picoseconds) e.UInt16(*v.server_picoseconds);
  return core::Status::OK();
}

core::Status Decode(Decoder& d, DataValue* v) {
  SF_RETURN_IF_ERROR(d.Enter("DataValue"));
  *v = DataValue{};
  uint8_t mask = 0;
  core::Status s = d.Byte(&mask);
  if (s.ok() && (mask & 0xC0)) s = d.Error(fmt::format("DataValue mask 0x{:02x} has unknown bits", mask));
  if (s.ok() && (mask & 0x01)) {
    Variant value;
    s = Decode(d, &value);
    if (s.ok()) v->value = std::move(value);
  }
  auto read = [&](auto* field, auto reader) {
    typename std::remove_reference_t<decltype(*field)>::value_type x{};
    core::Status st = (d.*reader)(&x);
    if (st.ok()) *field = x;
    return st;
  };
  if (s.ok() && (mask & 0x02)) s = read(&v->status, &Decoder::UInt32);
  if (s.ok() && (mask & 0x04)) s = read(&v->source_timestamp, &Decoder::Int64);
  if (s.ok() && (mask & 0x10)) s = read(&v->source_picoseconds, &Decoder::UInt16);
  if (s.ok() && (mask & 0x08)) s = read(&v->server_timestamp, &Decoder::Int64);
  if (s.ok() && (mask & 0x20)) s = read(&v->server_picoseconds, &Decoder::UInt16);
  d.Leave();
  return s;
}

std::string ScalarToString(const Scalar& s) {
  switch (static_cast<BuiltinType>(s.index())) {
    case BuiltinType::kNull: return "null";
    case BuiltinType::kBoolean: return std::get<bool>(s) ? "true" : "false";
    case BuiltinType::kSByte: return fmt::format("{}", std::get<int8_t>(s));
    case BuiltinType::kByte: return fmt::format("{}", std::get<uint8_t>(s));
    case BuiltinType::kInt16: return fmt::format("{}", std::get<int16_t>(s));
    case BuiltinType::kUInt16: return fmt::format("{}", std::get<uint16_t>(s));
    case BuiltinType::kInt32: return fmt::format("{}", std::get<int32_t>(s));
    case BuiltinType::kUInt32: return fmt::format("{}", std::get<uint32_t>(s));
    case BuiltinType::kInt64: return fmt::format("{}", std::get<int64_t>(s));
    case BuiltinType::kUInt64: return fmt::format("{}", std::get<uint64_t>(s));
    case BuiltinType::kFloat: return fmt::format("{}", std::get<float>(s));
    case BuiltinType::kDouble: return fmt::format("{}", std::get<double>(s));
    case BuiltinType::kString: return Quote(std::get<std::string>(s));
    case BuiltinType::kDateTime: {
      int64_t ticks = std::get<DateTime>(s).ticks;
      return ticks == 0 ? std::string("(unset)") : core::FormatTimestamp(UaTicksToTimestamp(ticks));
    }
    case BuiltinType::kGuid: return std::get<Guid>(s).ToString();
    case BuiltinType::kByteString: {
      std::string hex;
      for (char c : std::get<ByteString>(s).bytes) hex += fmt::format("{:02x}", static_cast<uint8_t>(c));
      return "0x" + hex;
    }
    case BuiltinType::kXmlElement: return Quote(std::get<XmlElement>(s).xml);
    case BuiltinType::kNodeId: return std::get<NodeId>(s).ToString();
    case BuiltinType::kExpandedNodeId: return std::get<ExpandedNodeId>(s).ToString();
    case BuiltinType::kStatusCode: return fmt::format("0x{:08X}", std::get<StatusCode>(s).code);
    case BuiltinType::kQualifiedName: return std::get<QualifiedName>(s).ToString();
    case BuiltinType::kLocalizedText: {
      const auto& lt = std::get<LocalizedText>(s);
      return lt.locale.empty() ? Quote(lt.text) : fmt::format("{}@{}", Quote(lt.text), lt.locale);
    }
    case BuiltinType::kExtensionObject: {
      const auto& xo = std::get<ExtensionObject>(s);
      return fmt::format("ExtensionObject({}, {} bytes)", xo.type_id.ToString(), xo.body.size());
    }
    case BuiltinType::kDataValue: {
      const DataValue& dv = *std::get<Box<DataValue>>(s);
      return fmt::format("DataValue({}, 0x{:08X})", dv.value ? dv.value->ToString() : "null", dv.status_code());
    }
    case BuiltinType::kVariant: return std::get<Box<Variant>>(s)->ToString();
    case BuiltinType::kDiagnosticInfo: return "DiagnosticInfo";
  }
  return "?";
}

std::string Variant::ToString() const {
  if (!is_array) {
    if (is_null()) return "Null";
    return fmt::format("{} {}", BuiltinTypeName(type()), ScalarToString(scalar));
  }
  std::string out = fmt::format("{}[{}]", BuiltinTypeName(array_type), elements.size());
  if (!dimensions.empty()) {
    out += " dims";
    for (int32_t dim : dimensions) out += fmt::format(" {}", dim);
  }
  out += " {";
  for (size_t i = 0; i < elements.size(); ++i) {
    if (i == 8 && elements.size() > 10) {
      out += fmt::format(", ... {} more", elements.size() - 8);
      break;
    }
    out += (i ? ", " : "") + ScalarToString(elements[i]);
  }
  return out + "}";
}

}  // namespace shopfloor::connect::opcua
