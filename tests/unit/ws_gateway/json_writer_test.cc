#include "core/json_writer.h"

#include <cstdint>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace stockfeed::ws_gateway {
namespace {

TEST(JsonWriterTest, EmptyObject) {
  std::string out;
  JsonWriter(out).BeginObject().EndObject();
  EXPECT_EQ(out, "{}");
}

TEST(JsonWriterTest, FieldsAreCommaSeparated) {
  std::string out;
  JsonWriter(out)
      .BeginObject()
      .String("s", "x")
      .Int("i", -42)
      .Uint("u", 42)
      .Bool("t", true)
      .Bool("f", false)
      .Number("n", 1.5)
      .EndObject();
  EXPECT_EQ(out, R"({"s":"x","i":-42,"u":42,"t":true,"f":false,"n":1.5})");
}

TEST(JsonWriterTest, NestedObjectsAndArrays) {
  std::string out;
  JsonWriter(out)
      .BeginObject()
      .Key("a")
      .BeginObject()
      .Int("b", 1)
      .EndObject()
      .BeginArray("c")
      .EndArray()
      .BeginArray("d")
      .StringElement("x")
      .StringElement("y")
      .RawElement("{\"z\":1}")
      .EndArray()
      .Int("e", 2)
      .EndObject();
  EXPECT_EQ(out, R"({"a":{"b":1},"c":[],"d":["x","y",{"z":1}],"e":2})");
}

TEST(JsonWriterTest, AppendsToExistingText) {
  std::string out = "prefix:";
  JsonWriter(out).BeginObject().Int("a", 1).EndObject();
  EXPECT_EQ(out, "prefix:{\"a\":1}");
}

TEST(JsonWriterTest, IntegerExtremes) {
  std::string out;
  JsonWriter(out)
      .BeginObject()
      .Int("min", std::numeric_limits<int64_t>::min())
      .Int("max", std::numeric_limits<int64_t>::max())
      .Uint("umax", std::numeric_limits<uint64_t>::max())
      .Uint("zero", 0)
      .EndObject();
  EXPECT_EQ(out, R"({"min":-9223372036854775808,"max":9223372036854775807,)"
                 R"("umax":18446744073709551615,"zero":0})");
}

struct NumberCase {
  double value;
  const char* text;
};

class JsonWriterNumberTest : public testing::TestWithParam<NumberCase> {};

TEST_P(JsonWriterNumberTest, ShortestRoundTripTextOrNull) {
  std::string out;
  JsonWriter(out).BeginObject().Number("p", GetParam().value).EndObject();
  EXPECT_EQ(out, std::string(R"({"p":)") + GetParam().text + "}");
}

INSTANTIATE_TEST_SUITE_P(
    Table, JsonWriterNumberTest,
    testing::Values(NumberCase{189.23, "189.23"}, NumberCase{100.0, "100"}, NumberCase{0.01, "0.01"},
                    NumberCase{0.0, "0"}, NumberCase{-2.5, "-2.5"},
                    NumberCase{0.1 + 0.2, "0.30000000000000004"}, NumberCase{1e21, "1e+21"},
                    NumberCase{1e-7, "1e-07"},
                    NumberCase{std::numeric_limits<double>::quiet_NaN(), "null"},
                    NumberCase{std::numeric_limits<double>::infinity(), "null"},
                    NumberCase{-std::numeric_limits<double>::infinity(), "null"},
                    NumberCase{std::numeric_limits<double>::max(), "1.7976931348623157e+308"},
                    NumberCase{std::numeric_limits<double>::denorm_min(), "5e-324"}));

struct EscapeCase {
  std::string raw;
  std::string encoded;
};

class JsonWriterEscapeTest : public testing::TestWithParam<EscapeCase> {};

TEST_P(JsonWriterEscapeTest, KeysAndValuesAreEscaped) {
  std::string out;
  JsonWriter(out).BeginObject().String(GetParam().raw, GetParam().raw).EndObject();
  EXPECT_EQ(out, "{" + GetParam().encoded + ":" + GetParam().encoded + "}");
}

INSTANTIATE_TEST_SUITE_P(
    Table, JsonWriterEscapeTest,
    testing::Values(EscapeCase{"plain", R"("plain")"}, EscapeCase{"", R"("")"},
                    EscapeCase{"a\"b", R"("a\"b")"}, EscapeCase{"a\\b", R"("a\\b")"},
                    EscapeCase{"\n\r\t", R"("\n\r\t")"}, EscapeCase{std::string("\0", 1), R"("\u0000")"},
                    EscapeCase{"\x01\x08\x0b\x0c\x1f", R"("\u0001\u0008\u000b\u000c\u001f")"},
                    EscapeCase{" ~\x7f/", "\" ~\x7f/\""},
                    EscapeCase{"\xE2\x82\xAC \xF0\x9F\x93\x88 \xC3\xA9", "\"\xE2\x82\xAC \xF0\x9F\x93\x88 \xC3\xA9\""},
                    EscapeCase{"</script>", R"("</script>")"}));

}  // namespace
}  // namespace stockfeed::ws_gateway
