// validate_config over every numeric key: a table (config_rules.h) says, per key, values that must be
// refused (with a message naming the key) and values that must be accepted, and the walk
// fails when the dumped config has a numeric key the table does not cover, so a new key
// forces a decision about its range.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "tests/test_util.h"
#include "tests/train/config_rules.h"
#include "train/config.h"

using namespace frcnn;
using frcnn::test::all_rules;

namespace {

bool is_number(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return *end == '\0';
}

// Leaf keys of dump_config with a number or a list of numbers as value.
std::vector<std::string> numeric_keys(const std::string& dump) {
  std::vector<std::string> keys, path;
  std::istringstream in(dump);
  std::string line;
  while (std::getline(in, line)) {
    const size_t indent = line.find_first_not_of(' ');
    const size_t colon = line.find(':');
    REQUIRE(colon != std::string::npos);
    path.resize(indent / 2);
    const std::string name = line.substr(indent, colon - indent);
    if (colon + 1 == line.size()) {  // a map
      path.push_back(name);
      continue;
    }
    std::string value = line.substr(colon + 2, line.find("  # ") - colon - 2);
    bool numeric = is_number(value);
    if (value.size() >= 3 && value.front() == '[' && value.back() == ']') {
      numeric = true;
      std::stringstream items(value.substr(1, value.size() - 2));
      std::string item;
      while (std::getline(items, item, ',')) numeric = numeric && is_number(item.substr(item.find_first_not_of(' ')));
    }
    std::string key;
    for (const auto& p : path) key += p + ".";
    if (numeric) keys.push_back(key + name);
  }
  return keys;
}

std::string refusal(const std::string& key, const std::string& value) {
  try {
    default_config({key + "=" + value});
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("config validation: the table covers every numeric key of the dump, and only those", "[config]") {
  const auto keys = numeric_keys(dump_config(default_config()));
  REQUIRE(keys.size() > 40);  // the parse found the keys (not a vacuous walk)
  const std::set<std::string> dumped(keys.begin(), keys.end());
  for (const auto& k : keys) {
    INFO("numeric key without a rule in tests/train/test_config_validation.cpp: " << k);
    CHECK(all_rules().count(k) == 1);
  }
  for (const auto& [k, rule] : all_rules()) {
    INFO("rule for a key the dump does not have: " << k);
    CHECK(dumped.count(k) == 1);
  }
}

TEST_CASE("config validation: every out-of-range value of every numeric key is refused naming the key", "[config]") {
  int refused = 0;
  for (const auto& [key, rule] : all_rules()) {
    REQUIRE(!rule.good.empty());
    for (const auto& v : rule.bad) {
      const std::string msg = refusal(key, v);
      INFO(key << "=" << v << " -> '" << msg << "'");
      CHECK(msg.find(key) != std::string::npos);
      ++refused;
    }
    for (const auto& v : rule.good) {
      INFO(key << "=" << v << " must be accepted");
      CHECK(refusal(key, v).empty());
    }
  }
  REQUIRE(refused > 150);
}

TEST_CASE("config validation: messages name the key, the value and the range, and files are checked too", "[config]") {
  REQUIRE_THROWS_WITH(default_config({"schedule.log_every=0"}),
                      Catch::Equals("config: 'schedule.log_every' is 0; must be >= 1"));
  REQUIRE_THROWS_WITH(default_config({"schedule.checkpoint_every=-5"}),
                      Catch::Equals("config: 'schedule.checkpoint_every' is -5; must be >= 1"));
  REQUIRE_THROWS_WITH(default_config({"model.test.nms=1.5"}),
                      Catch::Equals("config: 'model.test.nms' is 1.5; must be in [0, 1]"));
  REQUIRE_THROWS_WITH(default_config({"solver.base_lr=.nan"}),
                      Catch::Contains("'solver.base_lr' is ") && Catch::Contains("must be finite and > 0"));
  REQUIRE_THROWS_WITH(default_config({"model.rpn.neg_iou=0.9"}),
                      Catch::Contains("'model.rpn.neg_iou' is 0.9") && Catch::Contains("model.rpn.pos_iou (0.7)"));
  REQUIRE_THROWS_WITH(default_config({"model.anchors.sizes=[128, 0]"}),
                      Catch::Equals("config: 'model.anchors.sizes[1]' is 0; must be finite and > 0"));
  auto dir = test::temp_dir("config_validation");
  const auto p = (dir / "c.yaml").string();
  std::ofstream(p) << "schedule:\n  log_every: 0\n";
  REQUIRE_THROWS_WITH(load_config(p), Catch::Contains("'schedule.log_every' is 0"));
}

TEST_CASE("config validation: class names unique, non-empty, not reserved", "[config]") {
  REQUIRE_THROWS_WITH(default_config({"model.classes=[cat, dog, cat]"}),
                      Catch::Contains("'model.classes'") && Catch::Contains("'cat' twice"));
  REQUIRE_THROWS_WITH(default_config({"model.classes=[cat, __background__]"}),
                      Catch::Contains("'model.classes'") && Catch::Contains("reserved name '__background__'"));
  REQUIRE_THROWS_WITH(default_config({"model.classes=[background]"}), Catch::Contains("reserved name 'background'"));
  REQUIRE_THROWS_WITH(default_config({"model.classes=[cat, '']"}), Catch::Contains("'model.classes'"));
  REQUIRE_THROWS_WITH(default_config({"model.classes=[a/b]"}), Catch::Contains("'model.classes'"));
  REQUIRE_THROWS_WITH(default_config({"model.classes=[]"}), Catch::Contains("at least one class"));
  REQUIRE(default_config({"model.classes=[traffic light, Cat, cat]"}).model.classes.size() == 3);
}

TEST_CASE("config validation: --set with an empty value is an error naming the key", "[config]") {
  for (const std::string o : {"schedule.log_every=", "model.rpn.nms=  ", "data.root="})
    REQUIRE_THROWS_WITH(default_config({o}), Catch::Contains("empty value for '" + o.substr(0, o.find('=')) + "'"));
  REQUIRE(default_config({"data.root=''"}).data.root.empty());  // an explicit empty string still works
}
