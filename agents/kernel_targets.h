#pragma once
// The GCC target strings each kernel path is compiled for; kernel_path.cpp's cpu_has() checks
// exactly these features before a path may run.
#define TRUSTRL_TARGET_AVX512 "avx512f,avx2,fma"
#define TRUSTRL_TARGET_AVX2 "avx2,fma"
