#include "agents/kernel_path.h"

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <mutex>

#include "core/error.h"

namespace trustrl::agents {

namespace {

constexpr int kUnresolved = -1;

// What was decided at load time. A bad TRUSTRL_ISA cannot throw from a constructor, so it is
// kept here and thrown by kernel_path() at its first use.
struct State {
  std::atomic<int> path{kUnresolved};
  std::string path_error;
  std::string path_source;
  BlasInfo blas;
  std::mutex blas_mutex;
};

State& state() {
  static State s;
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

// OpenBLAS's entry points, looked up at run time: the BLAS below libtorch is whatever Debian's
// alternatives system points libblas.so.3 at.
struct OpenBlas {
  using Void = void (*)();
  using Text = char* (*)();
  Void dynamic_init = nullptr, dynamic_quit = nullptr;
  Text corename = nullptr, config = nullptr;
  bool found() const { return corename != nullptr && config != nullptr; }
  bool switchable() const { return found() && dynamic_init != nullptr && dynamic_quit != nullptr; }
};

OpenBlas open_blas() {
  OpenBlas o;
  o.dynamic_init = reinterpret_cast<OpenBlas::Void>(::dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init"));
  o.dynamic_quit = reinterpret_cast<OpenBlas::Void>(::dlsym(RTLD_DEFAULT, "gotoblas_dynamic_quit"));
  o.corename = reinterpret_cast<OpenBlas::Text>(::dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  o.config = reinterpret_cast<OpenBlas::Text>(::dlsym(RTLD_DEFAULT, "openblas_get_config"));
  return o;
}

std::string text_or_empty(OpenBlas::Text f) {
  const char* s = f != nullptr ? f() : nullptr;
  return s != nullptr ? std::string(s) : std::string();
}

// The OpenBLAS core whose kernels match a trustrl path. Prescott is what OpenBLAS itself falls
// back to on a CPU model it does not know, so "baseline" reproduces that machine's BLAS.
const char* blas_core_for(KernelPath path) {
  switch (path) {
    case KernelPath::kAvx512:
      return "SkylakeX";
    case KernelPath::kAvx2:
      return "Haswell";
    case KernelPath::kBaseline:
      break;
  }
  return "Prescott";
}

std::string switch_core_locked(const OpenBlas& o, const std::string& core) {
  // gotoblas_dynamic_init reads OPENBLAS_CORETYPE once; put the user's value back afterwards.
  const char* user = std::getenv("OPENBLAS_CORETYPE");
  const std::string saved = user != nullptr ? user : "";
  o.dynamic_quit();
  ::setenv("OPENBLAS_CORETYPE", core.c_str(), 1);
  o.dynamic_init();
  if (user != nullptr)
    ::setenv("OPENBLAS_CORETYPE", saved.c_str(), 1);
  else
    ::unsetenv("OPENBLAS_CORETYPE");
  return text_or_empty(o.corename);
}

void choose_blas(State& s, KernelPath path, bool forced_by_isa) {
  const OpenBlas o = open_blas();
  if (!o.found()) {
    s.blas = {"not OpenBLAS", "", "the system's BLAS (trustrl does not choose its kernels)"};
    return;
  }
  s.blas.library = text_or_empty(o.config);
  s.blas.core = text_or_empty(o.corename);
  if (env("OPENBLAS_CORETYPE") != nullptr) {
    s.blas.chosen_by = "OPENBLAS_CORETYPE";
    return;
  }
  const std::string loaded = s.blas.core;
  const bool behind = blas_core_tier(loaded) < path;
  if (!o.switchable() || !(forced_by_isa || behind)) {
    s.blas.chosen_by = "OpenBLAS (CPU detection)";
    return;
  }
  s.blas.core = switch_core_locked(o, blas_core_for(path));
  s.blas.library = text_or_empty(o.config);  // it names the core in use
  s.blas.chosen_by = forced_by_isa ? "trustrl, to match TRUSTRL_ISA"
                                   : "trustrl: OpenBLAS took this CPU for a " + loaded +
                                         ", slower than the CPU runs";
}

// Runs before main, after the shared libraries (OpenBLAS, libtorch) have initialized and before
// any BLAS call or libtorch kernel dispatch.
[[gnu::constructor]] void choose_kernels_at_load() {
  __builtin_cpu_init();
  State& s = state();
  KernelPath path = best_kernel_path();
  const char* isa = env("TRUSTRL_ISA");
  s.path_source = "best the CPU has";
  if (isa != nullptr) {
    try {
      path = parse_kernel_path(isa);
      if (!cpu_has(path))
        throw Error("TRUSTRL_ISA=" + std::string(isa) + ": this CPU cannot run the " +
                    std::string(kernel_path_name(path)) + " path (the best it runs is " +
                    std::string(kernel_path_name(best_kernel_path())) + ")");
      s.path_source = "TRUSTRL_ISA";
      // libtorch's own kernels (the autograd path) follow the same path unless told otherwise.
      static constexpr const char* kAten[] = {"default", "avx2", "avx512"};
      ::setenv("ATEN_CPU_CAPABILITY", kAten[static_cast<int>(path)], 0);
    } catch (const std::exception& e) {
      s.path_error = e.what();
      s.blas = {"unknown", "", "not chosen (TRUSTRL_ISA is invalid)"};
      return;
    }
  }
  choose_blas(s, path, isa != nullptr);
  s.path.store(static_cast<int>(path), std::memory_order_release);
}

}  // namespace

std::string_view kernel_path_name(KernelPath path) {
  switch (path) {
    case KernelPath::kAvx512:
      return "avx512";
    case KernelPath::kAvx2:
      return "avx2";
    case KernelPath::kBaseline:
      break;
  }
  return "baseline";
}

KernelPath parse_kernel_path(std::string_view name) {
  const std::string n = lower(name);
  for (KernelPath p : {KernelPath::kBaseline, KernelPath::kAvx2, KernelPath::kAvx512})
    if (n == kernel_path_name(p)) return p;
  throw Error("unknown kernel path '" + std::string(name) +
              "' (TRUSTRL_ISA takes baseline, avx2 or avx512)");
}

bool cpu_has(KernelPath path) {
  switch (path) {
    case KernelPath::kAvx512:
      // The AVX-512 kernels are compiled for avx512f (which implies AVX2) with FMA.
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
    case KernelPath::kAvx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case KernelPath::kBaseline:
      break;
  }
  return true;
}

KernelPath best_kernel_path() {
  for (KernelPath p : {KernelPath::kAvx512, KernelPath::kAvx2})
    if (cpu_has(p)) return p;
  return KernelPath::kBaseline;
}

KernelPath kernel_path() {
  const int p = state().path.load(std::memory_order_acquire);
  if (p == kUnresolved) throw Error(state().path_error);
  return static_cast<KernelPath>(p);
}

void set_kernel_path(KernelPath path) {
  if (!cpu_has(path))
    throw Error("this CPU cannot run the " + std::string(kernel_path_name(path)) + " kernel path");
  state().path.store(static_cast<int>(path), std::memory_order_release);
}

BlasInfo blas_info() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.blas_mutex);
  return s.blas;
}

KernelPath blas_core_tier(std::string_view core) {
  const std::string c = lower(core);
  for (const char* name : {"skylakex", "cooperlake", "sapphirerapids"})
    if (c == name) return KernelPath::kAvx512;
  // OpenBLAS runs its Haswell kernels (AVX2 + FMA) for the Zen family too.
  for (const char* name : {"haswell", "zen", "excavator"})
    if (c == name) return KernelPath::kAvx2;
  return KernelPath::kBaseline;
}

std::string select_blas_core(const std::string& core) {
  const OpenBlas o = open_blas();
  if (!o.switchable()) return "";
  State& s = state();
  std::lock_guard<std::mutex> lock(s.blas_mutex);
  s.blas.core = switch_core_locked(o, core);
  s.blas.library = text_or_empty(o.config);
  s.blas.chosen_by = "select_blas_core";
  return s.blas.core;
}

std::string kernel_report() {
  const KernelPath path = kernel_path();
  const BlasInfo blas = blas_info();
  const std::string best(kernel_path_name(best_kernel_path()));
  std::string line = "kernels: " + std::string(kernel_path_name(path)) +
                     (state().path_source == "TRUSTRL_ISA"
                          ? " (set by TRUSTRL_ISA; the CPU runs up to " + best + ")"
                          : " (the best this CPU runs)") +
                     "; BLAS: " + blas.library;
  if (!blas.core.empty()) line += ", core " + blas.core;
  return line + " (chosen by " + blas.chosen_by + ")";
}

}  // namespace trustrl::agents
