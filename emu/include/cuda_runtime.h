// Stand-in for CUDA's cuda_runtime.h in the emulated build (FRCNN_CUDA_EMULATION=ON):
// the device model, the runtime API subset and the launch machinery of emu/.
#pragma once
#include "emu/device_model.h"
#include "emu/launch.h"
#include "emu/runtime_api.h"
