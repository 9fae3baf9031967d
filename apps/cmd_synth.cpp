// `frcnn synth`: writes the deterministic synthetic VOC-format dataset (data/synth.h).
#include <string>

#include "apps/commands.h"
#include "data/synth.h"
#include "engine/log.h"

namespace frcnn::cli {

void add_synth_command(CLI::App& app) {
  auto opt = std::make_shared<SynthOptions>();
  auto* cmd = app.add_subcommand("synth", "Write the synthetic dataset in the PASCAL VOC layout (same seed -> same bytes)");
  cmd->add_option("--out", opt->out, "VOC root folder to write (JPEGImages/, Annotations/, ImageSets/Main/, classes.txt)")
      ->required();
  cmd->add_option("--train", opt->train, "images in trainval")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--test", opt->test, "images in test")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", opt->seed, "random seed")->capture_default_str();
  cmd->add_option("--min-side", opt->min_side, "smallest image side (px)")->capture_default_str();
  cmd->add_option("--max-side", opt->max_side, "largest image side (px)")->capture_default_str();
  cmd->add_flag("--force", opt->force,
                "write into a non-empty --out (a dataset synth wrote there is replaced; any other VOC dataset is "
                "never written into)");
  cmd->callback([opt] {
    SynthSummary s = write_synthetic_voc(*opt);
    log_info(str_cat("synth: wrote ", s.images, " images (", opt->train, " trainval, ", opt->test, " test), ", s.objects,
                     " objects (", s.difficult, " difficult) to ", opt->out));
  });
}

}  // namespace frcnn::cli
