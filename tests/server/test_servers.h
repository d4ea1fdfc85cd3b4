#pragma once
// Real server processes for integration tests: the `trustrl env-server` binary and the Python
// example simulators, each waited on by the "listening on" line it prints.

#include <memory>
#include <string>
#include <vector>

#include "tests/support/child_process.h"

namespace trustrl::testing {

inline constexpr double kStartTimeoutS = 60.0;
inline const std::string kBinary = std::string(TRUSTRL_BINARY_DIR) + "/cli/trustrl";

struct Child {
  std::unique_ptr<ChildProcess> process;
  std::string address;
};

inline Child start_env_server(const std::string& id, int copies,
                              const std::string& listen = "127.0.0.1:0",
                              std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {kBinary,      "env-server",           "--env",    id,
                                   "--num-envs", std::to_string(copies), "--listen", listen};
  argv.insert(argv.end(), extra.begin(), extra.end());
  Child c;
  c.process = std::make_unique<ChildProcess>(argv);
  c.address = c.process->wait_for_line("listening on ", kStartTimeoutS);
  return c;
}

/// One of the Python SDK's example simulators (python/examples/`script`).
inline Child start_python_example(const std::string& script, int copies) {
  Child c;
  c.process = std::make_unique<ChildProcess>(
      std::vector<std::string>{TRUSTRL_PYTHON,
                               std::string(TRUSTRL_SOURCE_DIR) + "/python/examples/" + script,
                               "--listen", "127.0.0.1:0", "--num-envs", std::to_string(copies)},
      std::vector<std::string>{"PYTHONPATH=" TRUSTRL_PYTHON_PATH});
  c.address = c.process->wait_for_line("listening on ", kStartTimeoutS);
  return c;
}

inline Child start_python_sim(int copies) {
  return start_python_example("cartpole_sim.py", copies);
}

}  // namespace trustrl::testing
