// Error checking for CUDA runtime calls and kernel launches. Include only from CUDA
// translation units (*.cu, *_cuda.cpp).
//
//   CUDA_CHECK(cudaMemcpyAsync(...));      // throws frcnn::CudaError on failure
//   check_launch(stream, file, line)       // after a launch: the last error; with
//                                          // FRCNN_CUDA_SYNC_DEBUG also a stream sync.
//                                          // FRCNN_LAUNCH (engine/launch.cuh) calls it.
#pragma once
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "engine/stream.h"

namespace frcnn {

class CudaError : public std::runtime_error {
 public:
  CudaError(cudaError_t code, const char* expr, const char* file, int line)
      : std::runtime_error(std::string(file) + ":" + std::to_string(line) + ": " + expr + " failed: " +
                           cudaGetErrorName(code) + " (" + cudaGetErrorString(code) + ")"),
        code_(code) {}
  cudaError_t code() const { return code_; }

 private:
  cudaError_t code_;
};

inline cudaStream_t cuda_stream(Stream s) { return static_cast<cudaStream_t>(s.handle); }

inline void check_launch(cudaStream_t stream, const char* file, int line) {
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) throw CudaError(e, "kernel launch", file, line);
#if FRCNN_SYNC_LAUNCHES
  // Not while the stream is being captured into a graph: a sync there is an error.
  cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(stream, &capturing) == cudaSuccess && capturing != cudaStreamCaptureStatusNone) return;
  e = cudaStreamSynchronize(stream);
  if (e != cudaSuccess) throw CudaError(e, "kernel execution (FRCNN_CUDA_SYNC_DEBUG)", file, line);
#else
  (void)stream;
#endif
}

}  // namespace frcnn

#define CUDA_CHECK(expr)                                                      \
  do {                                                                        \
    cudaError_t frcnn_err_ = (expr);                                          \
    if (frcnn_err_ != cudaSuccess)                                            \
      throw ::frcnn::CudaError(frcnn_err_, #expr, __FILE__, __LINE__);        \
  } while (0)
