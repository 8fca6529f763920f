// The Modbus address grammar and register codec (connect/modbus/address.h): every type in
// both word orders and with swapped bytes, bits, strings, scaling both ways, every error,
// and canonical round trips.
#include "connect/modbus/address.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace shopfloor::connect::modbus {
namespace {

using ::testing::HasSubstr;
using V = core::ValueType;

Address Parse(std::string_view text) {
  auto a = ParseAddress(text);
  EXPECT_TRUE(a.ok()) << text << ": " << a.status().ToString();
  return a.ok() ? *a : Address{};
}

std::string ParseError(std::string_view text) {
  auto a = ParseAddress(text);
  EXPECT_FALSE(a.ok()) << text << " parsed as " << (a.ok() ? FormatAddress(*a) : "");
  if (a.ok()) return "";
  EXPECT_EQ(a.status().code(), core::StatusCode::kInvalidArgument);
  return a.status().message();
}

core::Value DecodeWords(std::string_view text, std::vector<uint16_t> words, V type, bool source_swap = false) {
  auto v = Decode(Parse(text), source_swap, words, {}, type);
  EXPECT_TRUE(v.ok()) << text << ": " << v.status().ToString();
  return v.ok() ? *v : core::Value("decode failed");
}

std::vector<uint16_t> EncodeOk(std::string_view text, const core::Value& value, bool source_swap = false) {
  auto w = Encode(Parse(text), source_swap, value);
  EXPECT_TRUE(w.ok()) << text << ": " << w.status().ToString();
  return w.ok() ? *w : std::vector<uint16_t>{};
}

std::string EncodeError(std::string_view text, const core::Value& value) {
  auto w = Encode(Parse(text), false, value);
  EXPECT_FALSE(w.ok()) << text << " encoded " << value.ToString();
  return w.ok() ? "" : w.status().message();
}

TEST(ModbusAddressTest, ParsesTablesTypesAndDefaults) {
  Address a = Parse("hr:100");
  EXPECT_EQ(a.table, Table::kHoldingRegister);
  EXPECT_EQ(a.reg, 100);
  EXPECT_EQ(a.type, DataType::kUInt16);
  EXPECT_EQ(a.count(), 1);
  EXPECT_EQ(a.natural_type(), V::kInt64);
  EXPECT_FALSE(a.word_swap.has_value());
  EXPECT_EQ(a.poll, 0);

  a = Parse("co:4");
  EXPECT_EQ(a.table, Table::kCoil);
  EXPECT_EQ(a.type, DataType::kBool);
  EXPECT_EQ(a.natural_type(), V::kBool);
  EXPECT_EQ(Parse("di:65535:bool").table, Table::kDiscreteInput);
  EXPECT_EQ(Parse("ir:0:float32").count(), 2);
  EXPECT_EQ(Parse("ir:0:float32").natural_type(), V::kDouble);
  EXPECT_EQ(Parse("ir:0:int32").count(), 2);
  EXPECT_EQ(Parse("ir:0:uint32").count(), 2);
  EXPECT_EQ(Parse("ir:0:int64").count(), 4);
  EXPECT_EQ(Parse("ir:0:uint64").count(), 4);
  EXPECT_EQ(Parse("ir:0:float64").count(), 4);
  EXPECT_EQ(Parse("ir:0:int16").count(), 1);

  a = Parse("hr:50.3");
  EXPECT_EQ(a.type, DataType::kBit);
  EXPECT_EQ(a.bit, 3);
  EXPECT_EQ(a.natural_type(), V::kBool);
  EXPECT_EQ(Parse("hr:50.15:bool").bit, 15);

  a = Parse("hr:40:string16");
  EXPECT_EQ(a.type, DataType::kString);
  EXPECT_EQ(a.string_bytes, 16);
  EXPECT_EQ(a.count(), 8);
  EXPECT_EQ(Parse("hr:40:string5").count(), 3);
  EXPECT_EQ(a.natural_type(), V::kString);

  a = Parse("ir:20:int16:scale=0.1:offset=-5:bytes=little:poll=250ms");
  EXPECT_DOUBLE_EQ(a.scale, 0.1);
  EXPECT_DOUBLE_EQ(a.offset, -5);
  EXPECT_TRUE(a.byte_swap);
  EXPECT_EQ(a.poll, 250 * core::kMillisecond);
  EXPECT_TRUE(a.scaled());
  EXPECT_EQ(a.natural_type(), V::kDouble);
  a = Parse("hr:100:float32:words=little");
  ASSERT_TRUE(a.word_swap.has_value());
  EXPECT_TRUE(*a.word_swap);
  EXPECT_FALSE(*Parse("hr:100:float32:words=big").word_swap);
  // Modifiers in any order; the type may be left out before them.
  EXPECT_EQ(Parse("ir:14:poll=10s:scale=2").poll, 10 * core::kSecond);
  EXPECT_EQ(Parse("ir:14:float64:poll=10s").poll, 10 * core::kSecond);
  EXPECT_EQ(Parse("ir:65532:float64").reg, 65532);
}

TEST(ModbusAddressTest, EveryErrorSaysWhat) {
  EXPECT_THAT(ParseError("hr"), HasSubstr("expected <table>:<register>"));
  EXPECT_THAT(ParseError(""), HasSubstr("expected <table>:<register>"));
  EXPECT_THAT(ParseError("xx:1"), HasSubstr("unknown table \"xx\""));
  EXPECT_EQ(ParseError("ir:70000"), "modbus address \"ir:70000\": register 70000 is beyond 65535");
  EXPECT_THAT(ParseError("hr:abc"), HasSubstr("register \"abc\" is not a decimal number"));
  EXPECT_THAT(ParseError("hr:-1"), HasSubstr("is not a decimal number"));
  EXPECT_THAT(ParseError("hr:"), HasSubstr("is not a decimal number"));
  EXPECT_THAT(ParseError("hr:99999999999999999999"), HasSubstr("is not a decimal number"));
  EXPECT_THAT(ParseError("co:1.2"), HasSubstr("applies to ir and hr registers only"));
  EXPECT_THAT(ParseError("hr:1.16"), HasSubstr("bit \"16\" must be a number from 0 to 15"));
  EXPECT_THAT(ParseError("hr:1."), HasSubstr("bit \"\" must be"));
  EXPECT_THAT(ParseError("hr:1:bool"), HasSubstr("type bool needs a co or di address"));
  EXPECT_THAT(ParseError("co:1:int16"), HasSubstr("co addresses are bool, not int16"));
  EXPECT_THAT(ParseError("hr:1.2:int16"), HasSubstr("a register bit is bool, not int16"));
  EXPECT_THAT(ParseError("hr:1:string0"), HasSubstr("string<N> with N bytes from 1 to 250"));
  EXPECT_THAT(ParseError("hr:1:string251"), HasSubstr("from 1 to 250"));
  EXPECT_THAT(ParseError("hr:1:string"), HasSubstr("from 1 to 250"));
  EXPECT_THAT(ParseError("hr:1:float16"), HasSubstr("unknown type \"float16\""));
  EXPECT_THAT(ParseError("hr:1:float32:int16"), HasSubstr("\"int16\" is not a modifier"));
  EXPECT_THAT(ParseError("hr:1:scale=2:scale=3"), HasSubstr("scale= is given twice"));
  EXPECT_THAT(ParseError("hr:1:offset=2:offset=3"), HasSubstr("offset= is given twice"));
  EXPECT_THAT(ParseError("co:1:scale=2"), HasSubstr("scale= applies to numeric types, not bool"));
  EXPECT_THAT(ParseError("hr:1.1:offset=2"), HasSubstr("offset= applies to numeric types, not bit"));
  EXPECT_THAT(ParseError("hr:1:string4:scale=2"), HasSubstr("not string"));
  EXPECT_THAT(ParseError("hr:1:scale=abc"), HasSubstr("scale \"abc\" is not a finite number"));
  EXPECT_THAT(ParseError("hr:1:scale=inf"), HasSubstr("is not a finite number"));
  EXPECT_THAT(ParseError("hr:1:scale=0"), HasSubstr("scale must not be 0"));
  EXPECT_THAT(ParseError("hr:1:int32:words=middle"), HasSubstr("words must be big or little"));
  EXPECT_THAT(ParseError("hr:1:int16:words=little"), HasSubstr("words= applies to 32- and 64-bit types"));
  EXPECT_THAT(ParseError("hr:1:int32:words=big:words=big"), HasSubstr("words= is given twice"));
  EXPECT_THAT(ParseError("hr:1:bytes=middle"), HasSubstr("bytes must be big or little"));
  EXPECT_THAT(ParseError("hr:1:bytes=big:bytes=big"), HasSubstr("bytes= is given twice"));
  EXPECT_THAT(ParseError("di:1:bytes=little"), HasSubstr("bytes= applies to registers, not di"));
  EXPECT_THAT(ParseError("hr:1:poll=fast"), HasSubstr("poll \"fast\" must be a positive duration"));
  EXPECT_THAT(ParseError("hr:1:poll=0"), HasSubstr("must be a positive duration"));
  EXPECT_THAT(ParseError("hr:1:poll=1s:poll=2s"), HasSubstr("poll= is given twice"));
  EXPECT_THAT(ParseError("hr:1:colour=red"), HasSubstr("unknown modifier \"colour\""));
  EXPECT_THAT(ParseError("ir:65533:float64"), HasSubstr("4 registers from 65533 run past 65535"));
  EXPECT_THAT(ParseError("hr:65535:string3"), HasSubstr("2 registers from 65535 run past 65535"));
}

TEST(ModbusAddressTest, FormatIsCanonicalAndParsesBackEqual) {
  const char* texts[] = {"hr:100",
                         "co:4",
                         "di:7",
                         "hr:50.3",
                         "ir:0:float32",
                         "hr:100:float32:words=little",
                         "hr:100:int64:words=big",
                         "ir:20:int16:scale=0.1",
                         "ir:20:int16:scale=0.1:offset=-273.15:bytes=little:poll=250ms",
                         "hr:40:string16:bytes=little",
                         "ir:14:float64:poll=10s",
                         "hr:1:uint32:poll=1m",
                         "hr:1:uint16:poll=1500us",
                         "hr:1:uint16:poll=7ns",
                         "co:9:poll=2h"};
  for (const char* text : texts) {
    Address a = Parse(text);
    const std::string canonical = FormatAddress(a);
    Address b = Parse(canonical);
    EXPECT_EQ(FormatAddress(b), canonical) << text;
    EXPECT_EQ(b.table, a.table);
    EXPECT_EQ(b.reg, a.reg);
    EXPECT_EQ(b.type, a.type);
    EXPECT_EQ(b.bit, a.bit);
    EXPECT_EQ(b.string_bytes, a.string_bytes);
    EXPECT_EQ(b.word_swap, a.word_swap);
    EXPECT_EQ(b.byte_swap, a.byte_swap);
    EXPECT_EQ(b.scale, a.scale);
    EXPECT_EQ(b.offset, a.offset);
    EXPECT_EQ(b.poll, a.poll);
  }
  EXPECT_EQ(FormatAddress(Parse("hr:100")), "hr:100:uint16");
  EXPECT_EQ(FormatAddress(Parse("co:4:bool")), "co:4");
  EXPECT_EQ(FormatAddress(Parse("hr:50.3:bool")), "hr:50.3");
  EXPECT_EQ(FormatAddress(Parse("ir:1:poll=60s:scale=0.5")), "ir:1:uint16:scale=0.5:poll=1m");
  EXPECT_EQ(FormatAddress(Parse("hr:1:bytes=big")), "hr:1:uint16");
}

TEST(ModbusAddressTest, DecodesEveryTypeInBothWordOrdersAndWithSwappedBytes) {
  EXPECT_EQ(DecodeWords("hr:0:int16", {0xFFFE}, V::kInt64), core::Value(int64_t{-2}));
  EXPECT_EQ(DecodeWords("hr:0:uint16", {0xFFFE}, V::kInt64), core::Value(int64_t{65534}));
  EXPECT_EQ(DecodeWords("hr:0:uint16:bytes=little", {0x3412}, V::kInt64), core::Value(int64_t{0x1234}));
  EXPECT_EQ(DecodeWords("hr:0:int32", {0xFFFF, 0xFFFD}, V::kInt64), core::Value(int64_t{-3}));
  EXPECT_EQ(DecodeWords("hr:0:int32", {0xFFFD, 0xFFFF}, V::kInt64, /*source_swap=*/true), core::Value(int64_t{-3}));
  EXPECT_EQ(DecodeWords("hr:0:uint32", {0x1234, 0x5678}, V::kInt64), core::Value(int64_t{0x12345678}));
  EXPECT_EQ(DecodeWords("hr:0:uint32:words=little", {0x5678, 0x1234}, V::kInt64), core::Value(int64_t{0x12345678}));
  // The address's words= overrides the source's word order both ways.
  EXPECT_EQ(DecodeWords("hr:0:uint32:words=big", {0x1234, 0x5678}, V::kInt64, true), core::Value(int64_t{0x12345678}));
  EXPECT_EQ(DecodeWords("hr:0:uint32:bytes=little", {0x3412, 0x7856}, V::kInt64), core::Value(int64_t{0x12345678}));
  EXPECT_EQ(DecodeWords("hr:0:uint32:words=little:bytes=little", {0x7856, 0x3412}, V::kInt64),
            core::Value(int64_t{0x12345678}));
  EXPECT_EQ(DecodeWords("hr:0:int64", {0x0123, 0x4567, 0x89AB, 0xCDEF}, V::kInt64),
            core::Value(int64_t{0x0123456789ABCDEF}));
  EXPECT_EQ(DecodeWords("hr:0:int64:words=little", {0xCDEF, 0x89AB, 0x4567, 0x0123}, V::kInt64),
            core::Value(int64_t{0x0123456789ABCDEF}));
  EXPECT_EQ(DecodeWords("hr:0:int64", {0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF}, V::kInt64), core::Value(int64_t{-1}));
  EXPECT_EQ(DecodeWords("hr:0:uint64", {0x7FFF, 0xFFFF, 0xFFFF, 0xFFFF}, V::kInt64),
            core::Value(std::numeric_limits<int64_t>::max()));
  EXPECT_EQ(DecodeWords("hr:0:uint64", {0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF}, V::kDouble), core::Value(18446744073709551615.0));
  // 1.5f = 0x3FC00000
  EXPECT_EQ(DecodeWords("ir:0:float32", {0x3FC0, 0x0000}, V::kDouble), core::Value(1.5));
  EXPECT_EQ(DecodeWords("ir:0:float32:words=little", {0x0000, 0x3FC0}, V::kDouble), core::Value(1.5));
  EXPECT_EQ(DecodeWords("ir:0:float32", {0x0000, 0x3FC0}, V::kDouble, true), core::Value(1.5));
  EXPECT_EQ(DecodeWords("ir:0:float32:bytes=little", {0xC03F, 0x0000}, V::kDouble), core::Value(1.5));
  // pi = 0x400921FB54442D18
  EXPECT_EQ(DecodeWords("ir:0:float64", {0x4009, 0x21FB, 0x5444, 0x2D18}, V::kDouble), core::Value(M_PI));
  EXPECT_EQ(DecodeWords("ir:0:float64:words=little", {0x2D18, 0x5444, 0x21FB, 0x4009}, V::kDouble), core::Value(M_PI));
  EXPECT_EQ(DecodeWords("ir:0:float64:bytes=little", {0x0940, 0xFB21, 0x4454, 0x182D}, V::kDouble), core::Value(M_PI));
  // Integers into a double tag, and registers into a bool tag (nonzero is true).
  EXPECT_EQ(DecodeWords("hr:0:int16", {0xFFFF}, V::kDouble), core::Value(-1.0));
  EXPECT_EQ(DecodeWords("hr:0", {7}, V::kBool), core::Value(true));
  EXPECT_EQ(DecodeWords("hr:0", {0}, V::kBool), core::Value(false));
  // A float32 holding a whole number reads into an int64 tag; a fraction does not.
  EXPECT_EQ(DecodeWords("ir:0:float32", {0x4120, 0x0000}, V::kInt64), core::Value(int64_t{10}));
}

TEST(ModbusAddressTest, DecodesBitsBoolsAndStrings) {
  EXPECT_EQ(DecodeWords("hr:0.0", {0x0001}, V::kBool), core::Value(true));
  EXPECT_EQ(DecodeWords("hr:0.1", {0x0001}, V::kBool), core::Value(false));
  EXPECT_EQ(DecodeWords("hr:0.15", {0x8000}, V::kBool), core::Value(true));
  EXPECT_EQ(DecodeWords("hr:0.15:bytes=little", {0x0080}, V::kBool), core::Value(true));
  EXPECT_EQ(DecodeWords("hr:0.3", {0x0008}, V::kInt64), core::Value(int64_t{1}));
  const uint8_t on[] = {1}, off[] = {0};
  EXPECT_EQ(*Decode(Parse("co:3"), false, {}, on, V::kBool), core::Value(true));
  EXPECT_EQ(*Decode(Parse("di:3"), false, {}, off, V::kBool), core::Value(false));
  EXPECT_EQ(*Decode(Parse("di:3"), false, {}, on, V::kDouble), core::Value(1.0));
  EXPECT_EQ(*Decode(Parse("co:3"), false, {}, on, V::kInt64), core::Value(int64_t{1}));

  EXPECT_EQ(DecodeWords("hr:0:string5", {0x4865, 0x6C6C, 0x6F00}, V::kString), core::Value("Hello"));
  EXPECT_EQ(DecodeWords("hr:0:string6", {0x4869, 0x0000, 0x0000}, V::kString), core::Value("Hi"));
  EXPECT_EQ(DecodeWords("hr:0:string4:bytes=little", {0x6548, 0x6C6C}, V::kString), core::Value("Hell"));
  // An odd length ignores the last register's low byte.
  EXPECT_EQ(DecodeWords("hr:0:string3", {0x4142, 0x4344}, V::kString), core::Value("ABC"));
}

TEST(ModbusAddressTest, ScalingBothWays) {
  EXPECT_EQ(DecodeWords("ir:0:int16:scale=0.1", {0xFFF6}, V::kDouble), core::Value(-1.0));
  EXPECT_EQ(DecodeWords("ir:0:uint16:scale=0.5:offset=10", {4}, V::kDouble), core::Value(12.0));
  EXPECT_EQ(DecodeWords("ir:0:float32:scale=2:offset=1", {0x3FC0, 0}, V::kDouble), core::Value(4.0));
  EXPECT_EQ(EncodeOk("hr:0:uint16:scale=0.5:offset=10", core::Value(12.0)), (std::vector<uint16_t>{4}));
  // Rounded to the nearest raw integer.
  EXPECT_EQ(EncodeOk("hr:0:int16:scale=0.1", core::Value(-1.04)), (std::vector<uint16_t>{0xFFF6}));
  EXPECT_EQ(EncodeOk("hr:0:int16:scale=0.1", core::Value(int64_t{3})), (std::vector<uint16_t>{30}));
  EXPECT_EQ(EncodeOk("hr:0:float32:scale=2:offset=1", core::Value(4.0)), (std::vector<uint16_t>{0x3FC0, 0}));
  EXPECT_THAT(EncodeError("hr:0:uint16:scale=0.01", core::Value(700.0)), HasSubstr("out of uint16's range"));
  EXPECT_THAT(EncodeError("hr:0:uint16:offset=10", core::Value(5.0)), HasSubstr("out of uint16's range"));
}

TEST(ModbusAddressTest, EncodesEveryTypeAndRoundTrips) {
  EXPECT_EQ(EncodeOk("hr:0:int16", core::Value(int64_t{-2})), (std::vector<uint16_t>{0xFFFE}));
  EXPECT_EQ(EncodeOk("hr:0:uint16:bytes=little", core::Value(int64_t{0x1234})), (std::vector<uint16_t>{0x3412}));
  EXPECT_EQ(EncodeOk("hr:0:int32", core::Value(int64_t{-3})), (std::vector<uint16_t>{0xFFFF, 0xFFFD}));
  EXPECT_EQ(EncodeOk("hr:0:uint32", core::Value(int64_t{0x12345678}), true), (std::vector<uint16_t>{0x5678, 0x1234}));
  EXPECT_EQ(EncodeOk("hr:0:int64:words=little", core::Value(int64_t{0x0123456789ABCDEF})),
            (std::vector<uint16_t>{0xCDEF, 0x89AB, 0x4567, 0x0123}));
  EXPECT_EQ(EncodeOk("hr:0:uint64", core::Value(1e19)), (std::vector<uint16_t>{0x8AC7, 0x2304, 0x89E8, 0x0000}));
  EXPECT_EQ(EncodeOk("hr:0:float32", core::Value(1.5)), (std::vector<uint16_t>{0x3FC0, 0}));
  EXPECT_EQ(EncodeOk("hr:0:float64:bytes=little", core::Value(M_PI)),
            (std::vector<uint16_t>{0x0940, 0xFB21, 0x4454, 0x182D}));
  EXPECT_EQ(EncodeOk("hr:0:float32", core::Value(2.0)), (std::vector<uint16_t>{0x4000, 0}));
  EXPECT_EQ(EncodeOk("hr:0:uint16", core::Value(true)), (std::vector<uint16_t>{1}));
  EXPECT_EQ(EncodeOk("co:0", core::Value(true)), (std::vector<uint16_t>{1}));
  EXPECT_EQ(EncodeOk("co:0", core::Value(int64_t{0})), (std::vector<uint16_t>{0}));
  EXPECT_EQ(EncodeOk("hr:0.4", core::Value(1.0)), (std::vector<uint16_t>{1}));
  EXPECT_EQ(EncodeOk("hr:0:string5", core::Value("Hello")), (std::vector<uint16_t>{0x4865, 0x6C6C, 0x6F00}));
  EXPECT_EQ(EncodeOk("hr:0:string6:bytes=little", core::Value("Hi")), (std::vector<uint16_t>{0x6948, 0, 0}));

  struct Case {
    const char* address;
    core::Value value;
    V type;
  };
  const Case cases[] = {
      {"hr:0:int16", int64_t{-32768}, V::kInt64},
      {"hr:0:uint16", int64_t{65535}, V::kInt64},
      {"hr:0:int32:words=little", int64_t{-2147483648}, V::kInt64},
      {"hr:0:uint32:bytes=little", int64_t{4294967295}, V::kInt64},
      {"hr:0:int64", std::numeric_limits<int64_t>::min(), V::kInt64},
      {"hr:0:int64:words=little:bytes=little", std::numeric_limits<int64_t>::max(), V::kInt64},
      {"hr:0:uint64", std::numeric_limits<int64_t>::max(), V::kInt64},
      {"hr:0:float32:words=little", 0.25, V::kDouble},
      {"hr:0:float64", -1e300, V::kDouble},
      {"hr:0:int16:scale=0.1:offset=20", 21.5, V::kDouble},
      {"hr:0:string9", "abcdefgh", V::kString},
      {"hr:0.9", true, V::kBool},
      {"co:0", false, V::kBool},
  };
  for (const Case& c : cases) {
    for (bool swap : {false, true}) {
      SCOPED_TRACE(c.address);
      Address a = Parse(c.address);
      auto words = Encode(a, swap, c.value);
      ASSERT_TRUE(words.ok()) << words.status().ToString();
      ASSERT_EQ(words->size(), a.count());
      core::Result<core::Value> back = core::Status::Internal("unset");
      if (IsBitTable(a.table)) {
        std::vector<uint8_t> bits(words->begin(), words->end());
        back = Decode(a, swap, {}, bits, c.type);
      } else if (a.type == DataType::kBit) {
        back = Decode(a, swap, std::vector<uint16_t>{static_cast<uint16_t>((*words)[0] << a.bit)}, {}, c.type);
      } else {
        back = Decode(a, swap, *words, {}, c.type);
      }
      ASSERT_TRUE(back.ok()) << back.status().ToString();
      if (c.value.is_double()) {
        EXPECT_NEAR(back->as_double(), c.value.as_double(), std::fabs(c.value.as_double()) * 1e-12);
      } else {
        EXPECT_EQ(*back, c.value);
      }
    }
  }
}

TEST(ModbusAddressTest, EncodeAndDecodeErrors) {
  EXPECT_THAT(EncodeError("hr:0:int16", core::Value(int64_t{40000})), HasSubstr("40000 is out of int16's range"));
  EXPECT_THAT(EncodeError("hr:0:uint16", core::Value(int64_t{-1})), HasSubstr("out of uint16's range"));
  EXPECT_THAT(EncodeError("hr:0:uint32", core::Value(5e9)), HasSubstr("out of uint32's range"));
  EXPECT_THAT(EncodeError("hr:0:int64", core::Value(1e19)), HasSubstr("out of int64's range"));
  EXPECT_THAT(EncodeError("hr:0:uint64", core::Value(-1.0)), HasSubstr("out of uint64's range"));
  EXPECT_THAT(EncodeError("hr:0:uint64", core::Value(2e19)), HasSubstr("out of uint64's range"));
  EXPECT_THAT(EncodeError("hr:0:int16", core::Value(2.5)), HasSubstr("has a fraction"));
  EXPECT_THAT(EncodeError("hr:0:int16", core::Value(std::nan(""))), HasSubstr("out of int16's range"));
  EXPECT_THAT(EncodeError("hr:0:float32", core::Value(1e39)), HasSubstr("out of float32's range"));
  EXPECT_THAT(EncodeError("hr:0:float32", core::Value("x")), HasSubstr("is not a number"));
  EXPECT_THAT(EncodeError("hr:0:string4", core::Value("too long")), HasSubstr("8 bytes, longer than 4"));
  EXPECT_THAT(EncodeError("hr:0:string4", core::Value(1.0)), HasSubstr("is not a string"));
  EXPECT_THAT(EncodeError("co:0", core::Value(int64_t{2})), HasSubstr("is not a bool"));
  EXPECT_THAT(EncodeError("hr:0.1", core::Value("on")), HasSubstr("is not a bool"));

  auto decode_error = [](std::string_view text, std::vector<uint16_t> words, V type) {
    auto v = Decode(Parse(text), false, words, {}, type);
    EXPECT_FALSE(v.ok()) << text;
    return v.ok() ? std::string() : v.status().message();
  };
  EXPECT_THAT(decode_error("hr:0:uint64", {0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF}, V::kInt64),
              HasSubstr("18446744073709551615 does not fit an int64 tag"));
  EXPECT_THAT(decode_error("ir:0:float32", {0x7FC0, 0}, V::kInt64), HasSubstr("does not fit an int64 tag"));
  EXPECT_THAT(decode_error("ir:0:float32", {0x3FC0, 0}, V::kInt64), HasSubstr("1.5 does not fit"));
  EXPECT_THAT(decode_error("ir:0:int16:scale=0.5", {3}, V::kInt64), HasSubstr("does not fit"));
  EXPECT_THAT(decode_error("ir:0:float32", {0x7FC0, 0}, V::kBool), HasSubstr("NaN is not a bool"));
  EXPECT_THAT(decode_error("ir:0:float32", {0x3FC0}, V::kDouble), HasSubstr("needs 2 registers, got 1"));
  EXPECT_THAT(decode_error("ir:0", {1}, V::kString), HasSubstr("a number cannot be read into a string tag"));
  EXPECT_THAT(decode_error("ir:0:string2", {1}, V::kDouble), HasSubstr("a string cannot be read"));
  auto co = Decode(Parse("co:0"), false, {}, {}, V::kBool);
  ASSERT_FALSE(co.ok());
  EXPECT_THAT(co.status().message(), HasSubstr("needs 1 bit, got 0"));
  const uint8_t on[] = {1};
  EXPECT_FALSE(Decode(Parse("co:0"), false, {}, on, V::kString).ok());
}

TEST(ModbusAddressTest, CheckBindingSaysWhyNot) {
  EXPECT_TRUE(CheckBinding(Parse("hr:0:float32"), V::kDouble, true).ok());
  EXPECT_TRUE(CheckBinding(Parse("co:0"), V::kBool, true).ok());
  EXPECT_TRUE(CheckBinding(Parse("ir:0"), V::kInt64, false).ok());
  EXPECT_TRUE(CheckBinding(Parse("ir:0"), V::kBool, false).ok());
  EXPECT_TRUE(CheckBinding(Parse("hr:0.2"), V::kBool, true).ok());
  EXPECT_TRUE(CheckBinding(Parse("ir:0:string8"), V::kString, false).ok());
  EXPECT_TRUE(CheckBinding(Parse("di:0"), V::kDouble, false).ok());
  auto message = [](std::string_view text, V type, bool writable) {
    core::Status s = CheckBinding(Parse(text), type, writable);
    EXPECT_FALSE(s.ok()) << text;
    EXPECT_EQ(s.code(), core::StatusCode::kInvalidArgument);
    return s.message();
  };
  EXPECT_THAT(message("ir:0", V::kDouble, true), HasSubstr("a writable tag needs a co or hr address (ir is read-only)"));
  EXPECT_THAT(message("di:0", V::kBool, true), HasSubstr("(di is read-only)"));
  EXPECT_THAT(message("hr:0", V::kString, false), HasSubstr("a string tag needs a string<N> address"));
  EXPECT_THAT(message("hr:0:string4", V::kDouble, false), HasSubstr("needs a string tag, not double"));
  EXPECT_THAT(message("hr:0:float32", V::kInt64, false), HasSubstr("an int64 tag cannot take a float or scaled"));
  EXPECT_THAT(message("hr:0:int16:scale=2", V::kInt64, false), HasSubstr("float or scaled"));
}

}  // namespace
}  // namespace shopfloor::connect::modbus
