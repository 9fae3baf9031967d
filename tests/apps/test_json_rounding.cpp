// docs/USAGE.md promises rounded numbers in detect's <stem>.json (boxes to 0.01 px, scores
// to 1e-6, times to 1 us) and in eval's detections.json (bbox and score the same way): the
// files must say 12.34, not 12.340000000000002 or the float 0.30000001192092896.
#include <catch2/catch.hpp>

#include <filesystem>
#include <regex>
#include <string>

#include "data/voc.h"
#include "tests/apps/frcnn_cli.h"
#include "tests/train/eval_fixture.h"
#include "train/json_dump.h"

using namespace frcnn;
using namespace frcnn::test;

namespace {

// Decimals of each number in `text` (a JSON fragment); fails on an exponent.
std::vector<int> decimals_of_numbers(const std::string& text) {
  std::vector<int> out;
  const std::regex num(R"(-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), num); it != std::sregex_iterator(); ++it) {
    INFO("number " << it->str());
    REQUIRE((*it)[2].length() == 0);
    out.push_back((*it)[1].length() ? int((*it)[1].length()) - 1 : 0);
  }
  return out;
}

// Every number in the values of `key` (a number or an array of numbers) has at most `max`
// decimals; returns how many values were checked.
int check_key(const std::string& json_text, const std::string& key, int max) {
  const std::regex re("\"" + key + "\": *(\\[[^\\]]*\\]|[-0-9.eE+]+)");
  int n = 0;
  for (auto it = std::sregex_iterator(json_text.begin(), json_text.end(), re); it != std::sregex_iterator(); ++it)
    for (int d : decimals_of_numbers((*it)[1].str())) {
      INFO(key << ": " << (*it)[1].str());
      REQUIRE(d <= max);
      ++n;
    }
  return n;
}

}  // namespace

TEST_CASE("round_decimals and dump_json write the shortest decimal", "[apps][json]") {
  auto text = [](double v) { return dump_json(nlohmann::json(v)); };
  REQUIRE(text(round_decimals(12.344999, 2)) == "12.34");
  REQUIRE(text(round_decimals(double(0.3f), 6)) == "0.3");
  REQUIRE(text(round_decimals(1234.0 * 0.01, 2)) == "12.34");
  REQUIRE(text(round_decimals(double(0.788105f), 6)) == "0.788105");  // nlohmann's dump: 0.7881050000000001
  REQUIRE(text(round_decimals(-0.0049, 2)) == "0.0");                  // no "-0.0"
  REQUIRE(text(round_decimals(0.0000012, 6)) == "0.000001");           // no exponent
  REQUIRE(text(7.0) == "7.0");
  REQUIRE(round_decimals(7.0, 3) == 7.0);
  // Everything else as nlohmann writes it, indented or compact.
  nlohmann::ordered_json j = {{"name", "a \"b\"\n"}, {"n", 3}, {"ok", true}, {"none", nullptr},
                              {"list", {1.5, 2, "x"}}, {"empty", nlohmann::ordered_json::array()},
                              {"obj", nlohmann::ordered_json::object()}};
  REQUIRE(dump_json(j, 2) == j.dump(2));
  REQUIRE(dump_json(j) == j.dump());
  REQUIRE(nlohmann::ordered_json::parse(dump_json(j, 1)) == j);
}

TEST_CASE("frcnn detect and eval write JSON numbers rounded as docs/USAGE.md says", "[apps][json]") {
  auto f = make_eval_fixture("json_rounding");
  VocDataset ds(f.voc.string(), "test", f.cfg.model.classes);
  const fs::path det = f.dir / "det", ev = f.dir / "eval";
  CmdResult r = run_frcnn(f.dir, "detect --device cpu -c " + quote(f.config.string()) + " -w " +
                                     quote(f.weights.string()) + " --score-threshold 0.05 -o " + quote(det.string()) +
                                     " " + quote(ds.record(0).image_path) + " " + quote(ds.record(1).image_path));
  REQUIRE(r.code == 0);
  int boxes = 0;
  for (size_t k = 0; k < 2; ++k) {
    const std::string text = slurp(det / (fs::path(ds.record(k).image_path).stem().string() + ".json"));
    boxes += check_key(text, "box", 2);
    check_key(text, "score", 6);
    check_key(text, "scale", 6);
    for (const char* t : {"conv", "proposals", "region", "total", "decode_resize"}) REQUIRE(check_key(text, t, 3) == 1);
  }
  REQUIRE(boxes >= 4);

  CmdResult e = run_frcnn(f.dir, "eval --device cpu -c " + quote(f.config.string()) + " -w " +
                                     quote(f.weights.string()) + " --data " + quote(f.voc.string()) + " --out " +
                                     quote(ev.string()));
  REQUIRE(e.code == 0);
  const std::string dets = slurp(ev / "detections.json");
  REQUIRE(check_key(dets, "bbox", 2) >= 4);
  REQUIRE(check_key(dets, "score", 6) >= 1);
}
