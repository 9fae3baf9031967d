// Deterministic crash points for the fault tests: the process kills itself (SIGKILL, as
// a power cut or the OOM killer would, so no handler or destructor runs) at the n-th time
// it passes a named point.
//
//   FRCNN_KILL_AT=<point>@<n>    e.g. FRCNN_KILL_AT=write:checkpoint.safetensors@2
//
// Points passed by the code (grep kill_point):
//   write:<file name>     write_file_atomic, with the temporary file written but neither
//                         flushed nor renamed (a torn temp file is left behind)
//   iteration:<stage>     the trainer, after an iteration's update, before its checkpoint
//   stage-end:<stage>     the trainer, after a stage's snapshot, before the next stage
//   proposals:<stage>     the trainer, after each image of the proposal pass of an RPN stage
// Unset (the normal case) costs one cached getenv per process. Only for tests
// (tests/apps/test_kill_resume.cpp); docs/USAGE.md, "Exit status", says what a kill leaves.
#pragma once
#include <string>

namespace frcnn {

void kill_point(const std::string& point);

}  // namespace frcnn
