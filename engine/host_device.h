// FRCNN_HD marks maths compiled for both the CPU and the GPU (shared inline headers:
// IoU, box coding, RoI bins, Philox). Plain `inline` for the host compiler.
#pragma once
#if defined(__CUDACC__)
#define FRCNN_HD __host__ __device__ __forceinline__
#else
#define FRCNN_HD inline
#endif
