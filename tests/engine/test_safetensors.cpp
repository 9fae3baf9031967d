#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <limits>

#include "engine/safetensors.h"
#include "tests/gpu.h"
#include "tests/test_util.h"

using namespace frcnn;
namespace fs = std::filesystem;

namespace {
std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void spit(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary);
  out << s;
}
// A file with a hand-written header (and `data_bytes` zero bytes of data).
std::string with_header(const std::string& json, size_t data_bytes) {
  std::string s;
  uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) s.push_back(char((n >> (8 * i)) & 0xff));
  return s + json + std::string(data_bytes, '\0');
}
}  // namespace

TEST_CASE("safetensors: round trip of dtypes shapes and metadata", "[safetensors]") {
  auto dir = test::temp_dir("st_roundtrip");
  std::map<std::string, Tensor> ts;
  ts["conv1_1.weight"] = test::random_tensor({4, 3, 3, 3}, 1);
  ts["labels"] = Tensor::from_vector<int32_t>({5}, {1, -1, 3, 0, 20});
  ts["mask"] = Tensor::from_vector<uint8_t>({2, 2}, {0, 1, 255, 7});
  ts["step"] = Tensor::from_vector<int64_t>({1}, {int64_t(1) << 40});
  ts["empty"] = Tensor::empty({0, 4});
  ts["scalar"] = Tensor::from_vector<float>({}, {3.5f});
  auto path = (dir / "w.safetensors").string();
  save_safetensors(path, ts, {{"format", "frcnn"}, {"input", "bgr255"}});
  TensorFile f = load_safetensors(path);
  REQUIRE(f.tensors.size() == ts.size());
  REQUIRE(f.meta("input") == "bgr255");
  REQUIRE(f.meta("absent", "x") == "x");
  REQUIRE(f.get("conv1_1.weight", {4, 3, 3, 3}).to_vector<float>() == ts["conv1_1.weight"].to_vector<float>());
  REQUIRE(f.get("labels", {5}, DType::I32).to_vector<int32_t>() == ts["labels"].to_vector<int32_t>());
  REQUIRE(f.get("mask", {2, 2}, DType::U8).to_vector<uint8_t>() == ts["mask"].to_vector<uint8_t>());
  REQUIRE(f.get("step", {1}, DType::I64).to_vector<int64_t>()[0] == int64_t(1) << 40);
  REQUIRE(f.get("empty").shape() == Shape{0, 4});
  REQUIRE(f.get("scalar").item() == 3.5);
  // No temporary file is left behind.
  int files = 0;
  for (auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
  REQUIRE(files == 1);
  // The header length is a multiple of 8 so data stays aligned, as the spec recommends.
  std::string raw = slurp(path);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(raw[i]);
  REQUIRE((8 + n) % 8 == 0);
}

TEST_CASE("safetensors: a missing or mis-shaped tensor names the file and the tensor", "[safetensors]") {
  auto dir = test::temp_dir("st_missing");
  auto path = (dir / "w.safetensors").string();
  save_safetensors(path, {{"fc6.weight", Tensor::zeros({8, 4})}});
  TensorFile f = load_safetensors(path);
  REQUIRE_THROWS_WITH(f.get("fc7.weight"), Catch::Contains(path) && Catch::Contains("'fc7.weight' not found"));
  REQUIRE_THROWS_WITH(f.get("fc6.weight", {4, 8}),
                      Catch::Contains(path) && Catch::Contains("fc6.weight") && Catch::Contains("(8, 4)"));
  REQUIRE_THROWS_WITH(f.get("fc6.weight", {8, 4}, DType::I32), Catch::Contains("dtype"));
}

TEST_CASE("safetensors: non-finite weights are refused, naming the tensor, the count and the first index",
          "[safetensors]") {
  auto dir = test::temp_dir("st_nonfinite");
  auto path = (dir / "w.safetensors").string();
  std::vector<float> v(12, 0.5f);
  v[7] = std::numeric_limits<float>::quiet_NaN();
  v[9] = -std::numeric_limits<float>::infinity();
  save_safetensors(path, {{"fc6.weight", Tensor::from_vector<float>({3, 4}, v)},
                          {"fc6.bias", Tensor::from_vector<float>({3}, {1, 2, 3})},
                          {"ids", Tensor::from_vector<int32_t>({2}, {1, 2})}});
  TensorFile f = load_safetensors(path);  // reading is fine: the check is where weights are taken
  REQUIRE_THROWS_WITH(f.get("fc6.weight", {3, 4}), Catch::Contains(path) && Catch::Contains("'fc6.weight'") &&
                                                        Catch::Contains("2 non-finite") &&
                                                        Catch::Contains("flat index 7"));
  REQUIRE(f.get("fc6.bias", {3}).numel() == 3);
  REQUIRE(f.get("ids", {2}, DType::I32).numel() == 2);
  REQUIRE_THROWS_WITH(require_finite(path, "fc6.weight", f.get("fc6.weight")), Catch::Contains("inf") || Catch::Contains("nan"));
}

TEST_CASE("safetensors: malformed files are clear errors naming the file", "[safetensors]") {
  auto dir = test::temp_dir("st_bad");
  auto good = (dir / "good.safetensors").string();
  save_safetensors(good, {{"a", test::random_tensor({16, 16}, 3)}, {"b", test::random_tensor({10}, 4)}});
  const std::string bytes = slurp(good);
  auto bad = dir / "bad.safetensors";
  auto expect_error = [&](const std::string& content, const std::string& needle) {
    spit(bad, content);
    REQUIRE_THROWS_WITH(load_safetensors(bad.string()), Catch::Contains(bad.string()) && Catch::Contains(needle));
  };
  SECTION("missing file") {
    REQUIRE_THROWS_WITH(load_safetensors((dir / "nope.safetensors").string()), Catch::Contains("cannot open"));
  }
  SECTION("shorter than the length field") { expect_error("abc", "truncated"); }
  SECTION("truncated data") { expect_error(bytes.substr(0, bytes.size() - 10), "truncated"); }
  SECTION("truncated header") { expect_error(bytes.substr(0, 20), "exceeds the file"); }
  SECTION("header length that lies") {
    std::string s = bytes;
    s[0] = char(0xff);
    s[5] = char(0x7f);
    expect_error(s, "exceeds the file");
  }
  SECTION("not JSON") { expect_error(with_header("{not json", 0), "not valid JSON"); }
  SECTION("unknown dtype") {
    expect_error(with_header(R"({"w":{"dtype":"F128","shape":[2],"data_offsets":[0,32]}})", 32),
                 "'w': unknown dtype 'F128'");
  }
  SECTION("offsets disagree with the shape") {
    expect_error(with_header(R"({"w":{"dtype":"F32","shape":[3,3],"data_offsets":[0,32]}})", 32),
                 "'w': data_offsets [0, 32) hold 32 bytes but shape (3, 3) F32 needs 36");
  }
  SECTION("data past the end") {
    expect_error(with_header(R"({"w":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}})", 16), "'w': data ends");
  }
  SECTION("entry without offsets") {
    expect_error(with_header(R"({"w":{"dtype":"F32","shape":[8]}})", 32), "'w': entry needs");
  }
  SECTION("bad metadata") { expect_error(with_header(R"({"__metadata__":{"k":3}})", 0), "__metadata__"); }
  SECTION("a shape whose element or byte count overflows 64 bits") {  // found by fuzzing (tests/fuzz)
    // Was a signed overflow in shape_numel (UBSan), and with a later zero dim, a "valid" tensor.
    for (const char* shape : {"[4294967296,4294967296]", "[4611686018427387904,4]", "[4294967296,4294967296,0]"})
      expect_error(with_header(std::string(R"({"w":{"dtype":"F32","shape":)") + shape + R"(,"data_offsets":[0,0]}})", 0),
                   "'w': shape (");
    expect_error(with_header(R"({"w":{"dtype":"F32","shape":[2305843009213693952],"data_offsets":[0,0]}})", 0),
                 "has too many elements (its byte count overflows 64 bits)");
  }
}

TEST_CASE("safetensors: saving GPU tensors", "[safetensors][gpu]") {
  FRCNN_REQUIRE_GPU();
  auto dir = test::temp_dir("st_gpu");
  Tensor a = test::random_tensor({3, 4}, 5);
  auto path = (dir / "g.safetensors").string();
  save_safetensors(path, {{"a", a.to(Device::cuda())}});
  REQUIRE(load_safetensors(path).get("a").to_vector<float>() == a.to_vector<float>());
}
