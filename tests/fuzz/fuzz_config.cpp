// Fuzz target: a YAML config and its `--set key=value` overrides (train/config.h) through
// load_config and default_config, the two functions every command calls with its --config
// and --set options; both end in validate_config. The input is the YAML text, then, after a
// line that is exactly "--set", one override per line:
//
//   model:
//     rpn: {nms: 0.7}
//   --set
//   model.rpn.nms=0.6
//   schedule.log_every=5
//
// A config that loads must round-trip: its dump (the commented YAML of `frcnn config`) loads
// back, through a file, to the same dump.
#include <string>
#include <vector>

#include "train/config.h"
#include "tests/fuzz/fuzz_util.h"

FRCNN_FUZZ_TARGET(config) {
  using namespace frcnn;
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> sets;
  const std::string sep = "--set\n";
  size_t at = text.rfind(sep, 0) == 0 ? 0 : text.find("\n" + sep);
  if (at != std::string::npos) {
    size_t from = at + (at == 0 ? 0 : 1) + sep.size();
    std::string rest = text.substr(from);
    text.resize(at == 0 ? 0 : at + 1);
    size_t b = 0;
    while (b <= rest.size()) {
      size_t e = rest.find('\n', b);
      if (e == std::string::npos) e = rest.size();
      if (e > b) sets.push_back(rest.substr(b, e - b));
      b = e + 1;
    }
  }
  const std::string path = fuzz::write_input(reinterpret_cast<const uint8_t*>(text.data()), text.size(), "config.yaml");
  // validate_config says "config: 'key' is ...", a bad override "--set '...': ...", and
  // default_config's source is "defaults".
  const std::initializer_list<const char*> prefixes = {"config: ", "--set '", "defaults: "};
  auto round_trip = [&](const Config& c) {
    const std::string dump = dump_config(c);
    const std::string again = fuzz::write_input(reinterpret_cast<const uint8_t*>(dump.data()), dump.size(), "dump.yaml");
    Config back;
    try {
      back = load_config(again);
    } catch (const std::exception& e) {
      fuzz::finding(std::string("the dump of a valid config does not load back: ") + e.what() + "\n" + dump);
    }
    fuzz::check(dump_config(back) == dump, "the dump loads back to the same config:\n" + dump);
  };
  fuzz::expect_clean(path, [&] { round_trip(load_config(path, sets)); }, prefixes);
  if (!sets.empty()) fuzz::expect_clean(path, [&] { round_trip(default_config(sets)); }, prefixes);
  return 0;
}
