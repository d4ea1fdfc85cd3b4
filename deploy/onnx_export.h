#pragma once
// A saved policy as ONNX graphs that other runtimes (onnxruntime, OpenCV DNN, TensorRT) run.
//
// One graph per agent group: the frozen observation normalization, the actor MLP and the action
// head, opset 10 with plain ops only (MatMul, Add, Sub, Mul, Tanh, Relu, Clip, ArgMax, Slice,
// Concat, Log), which OpenCV 4.6's importer also runs. docs/DEPLOY.md lists inputs, outputs and
// metadata; inference.cpp is the reference the graph reproduces.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "agents/policy_snapshot.h"
#include "agents/saved_policy.h"

namespace trustrl::deploy {

/// The model's metadata_props beside what the policy itself says.
struct OnnxMetadata {
  std::string env_id;
  /// The env's spec hash ("0x..."); none when the env is not one trustrl can build, and then
  /// left out of the file.
  std::optional<std::string> spec_hash;
  std::string trustrl_version;
};

/// The opset the graphs declare: the last one whose Clip takes its bounds as attributes, which
/// OpenCV 4.6 needs.
inline constexpr int kOnnxOpset = 10;

/// Group `index` of `policy` as a serialized ModelProto. Throws Error naming the group if it is
/// inconsistent (agents::check_group).
std::string onnx_model(const agents::PolicySnapshot& policy, int index, const OnnxMetadata& meta);

/// Where export writes the graphs for `out`: `out` itself for a single group, else one file per
/// group named after it (policy.onnx -> policy.group0.onnx, policy.group1.onnx, ...).
std::vector<std::filesystem::path> onnx_paths(const agents::PolicySnapshot& policy,
                                              const std::filesystem::path& out);

/// Writes every group's graph (onnx_paths), each atomically; all graphs are built before the
/// first file is written, and a failed write removes the files this call wrote. Returns the paths.
std::vector<std::filesystem::path> export_onnx(const agents::SavedPolicy& policy,
                                               const OnnxMetadata& meta,
                                               const std::filesystem::path& out);

}  // namespace trustrl::deploy
