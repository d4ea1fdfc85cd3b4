#include "deploy/onnx_export.h"

#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/files.h"
#include "core/rng.h"
#include "tests/support/scratch_dir.h"

namespace trustrl::deploy {
namespace {

namespace fs = std::filesystem;
using agents::DenseLayer;
using agents::GroupPolicy;
using agents::PolicySnapshot;

constexpr int kRows = 1000;

std::vector<float> normal(Rng& rng, std::size_t n, double scale, double shift = 0) {
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(shift + scale * rng.normal());
  return v;
}

// A layer with weights of std 1/sqrt(in), as trained layers roughly have.
DenseLayer layer(Rng& rng, int in, int out) {
  DenseLayer l;
  l.in = in;
  l.out = out;
  l.w = normal(rng, static_cast<std::size_t>(in) * static_cast<std::size_t>(out),
               1.0 / std::sqrt(in));
  l.b = normal(rng, static_cast<std::size_t>(out), 0.1);
  return l;
}

struct GroupShape {
  int obs_dim = 4;
  std::vector<int> hidden = {16, 16};
  envs::Space space = envs::Space::discrete(3);
  bool relu = false;
  bool gsde = false;
  bool normalize = true;
  double clip = 10.0;
  std::vector<int> agents = {0};
  int num_agents = 1;
  bool agent_id_input = false;
};

// A group with seeded random weights and observation statistics.
GroupPolicy make_group(const GroupShape& s, std::uint64_t seed) {
  Rng rng(seed);
  GroupPolicy g;
  g.agents = s.agents;
  g.num_agents = s.num_agents;
  g.agent_id_input = s.agent_id_input;
  const int in = s.obs_dim + (s.agent_id_input ? s.num_agents : 0);
  const int outputs =
      static_cast<int>(s.space.is_discrete() ? s.space.num_logits() : s.space.flat_dim());
  int width = in;
  for (const int h : s.hidden) {
    g.weights.actor.push_back(layer(rng, width, h));
    width = h;
  }
  g.weights.actor.push_back(layer(rng, width, outputs));
  g.weights.critic.push_back(layer(rng, in, 1));
  g.weights.relu = s.relu;
  g.weights.gsde = s.gsde;
  g.weights.action_space = s.space;
  if (!s.space.is_discrete())
    g.weights.log_std = normal(
        rng,
        static_cast<std::size_t>(s.space.flat_dim()) * static_cast<std::size_t>(s.gsde ? width : 1),
        0.5, -0.5);
  g.obs_normalizer = agents::ObsNormalizer(in, s.normalize, s.clip);
  const std::vector<float> seen = normal(rng, 50 * static_cast<std::size_t>(in), 2.0, 1.0);
  g.obs_normalizer.update(seen.data(), 50);
  g.critic_normalizer = agents::ObsNormalizer(in, false, 10.0);
  return g;
}

PolicySnapshot single(const GroupShape& s, std::uint64_t seed = 1) {
  PolicySnapshot p;
  p.groups.push_back(make_group(s, seed));
  return p;
}

OnnxMetadata meta() { return {"TestEnv-v0", "0x0123456789abcdef", "9.8.7"}; }

onnx::ModelProto parse(const std::string& bytes) {
  onnx::ModelProto m;
  EXPECT_TRUE(m.ParseFromString(bytes));
  return m;
}

std::map<std::string, std::string> metadata(const onnx::ModelProto& m) {
  std::map<std::string, std::string> out;
  for (const auto& e : m.metadata_props()) out[e.key()] = e.value();
  return out;
}

std::vector<std::string> names(const google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>& v) {
  std::vector<std::string> out;
  for (const auto& x : v) out.push_back(x.name());
  return out;
}

TEST(OnnxExport, GraphPassesOnnxsCheckerWithNamedInputsOutputsAndMetadata) {
  const onnx::ModelProto m = parse(onnx_model(single({}), 0, meta()));
  EXPECT_NO_THROW(onnx::checker::check_model(m));
  ASSERT_EQ(m.opset_import_size(), 1);
  EXPECT_EQ(m.opset_import(0).version(), kOnnxOpset);
  EXPECT_EQ(names(m.graph().input()), std::vector<std::string>{"observation"});
  EXPECT_EQ(names(m.graph().output()), (std::vector<std::string>{"logits", "action"}));
  const auto& shape = m.graph().input(0).type().tensor_type().shape();
  ASSERT_EQ(shape.dim_size(), 2);
  EXPECT_EQ(shape.dim(0).dim_param(), "batch");  // a dynamic batch
  EXPECT_EQ(shape.dim(1).dim_value(), 4);
  const auto props = metadata(m);
  EXPECT_EQ(props.at("env_id"), "TestEnv-v0");
  EXPECT_EQ(props.at("spec_hash"), "0x0123456789abcdef");
  EXPECT_EQ(props.at("trustrl_version"), "9.8.7");
  EXPECT_EQ(props.at("action_head"), "categorical");
  EXPECT_EQ(props.at("action_space"), "Discrete(3)");
  EXPECT_EQ(props.at("observation_normalization"), "included");
  EXPECT_EQ(m.producer_name(), "trustrl");

  GroupShape box;
  box.space = envs::Space::box(-1, 1, {2});
  box.normalize = false;
  const onnx::ModelProto g = parse(onnx_model(single(box), 0, {"X-v0", std::nullopt, "1"}));
  EXPECT_NO_THROW(onnx::checker::check_model(g));
  EXPECT_EQ(names(g.graph().output()), (std::vector<std::string>{"mean", "log_std", "action"}));
  EXPECT_EQ(metadata(g).count("spec_hash"), 0u);  // unknown: left out, not made up
  EXPECT_EQ(metadata(g).at("observation_normalization"), "none");
  for (const auto& node : g.graph().node()) EXPECT_NE(node.op_type(), "Sub");
}

TEST(OnnxExport, OneGraphPerAgentGroupNamedAfterIt) {
  GroupShape shared;
  shared.agents = {0, 1};
  shared.num_agents = 3;
  shared.agent_id_input = true;
  GroupShape alone;
  alone.agents = {2};
  alone.num_agents = 3;
  alone.space = envs::Space::multi_discrete({2, 3});
  PolicySnapshot p;
  p.groups = {make_group(shared, 1), make_group(alone, 2)};
  const auto paths = onnx_paths(p, "out/team.onnx");
  ASSERT_EQ(paths.size(), 2u);
  EXPECT_EQ(paths[0], fs::path("out/team.group0.onnx"));
  EXPECT_EQ(paths[1], fs::path("out/team.group1.onnx"));
  EXPECT_EQ(onnx_paths(single({}), "a/b.onnx"), std::vector<fs::path>{"a/b.onnx"});

  const onnx::ModelProto g0 = parse(onnx_model(p, 0, meta()));
  EXPECT_NO_THROW(onnx::checker::check_model(g0));
  EXPECT_EQ(names(g0.graph().input()), (std::vector<std::string>{"observation", "agent_one_hot"}));
  EXPECT_EQ(metadata(g0).at("agents"), "0,1");
  EXPECT_EQ(metadata(g0).at("agent_group"), "0");
  const onnx::ModelProto g1 = parse(onnx_model(p, 1, meta()));
  EXPECT_EQ(metadata(g1).at("agents"), "2");
  EXPECT_EQ(metadata(g1).at("action_head"), "multi_categorical");
  EXPECT_THROW(onnx_model(p, 2, meta()), Error);

  agents::SavedPolicy saved;
  saved.env_id = "TestEnv-v0";
  saved.multi_agent = true;
  saved.snapshot = p;
  const fs::path dir = testing::scratch_dir("onnx_groups");
  const auto written = export_onnx(saved, meta(), dir / "team.onnx");
  ASSERT_EQ(written.size(), 2u);
  for (const auto& f : written) EXPECT_NO_THROW(onnx::checker::check_model(f.string()));
  EXPECT_FALSE(fs::exists(dir / "team.onnx"));
}

TEST(OnnxExport, AnInconsistentGroupIsRefusedNamingItAndWritesNothing) {
  PolicySnapshot p = single({});
  p.groups[0].weights.action_space = envs::Space::discrete(5);  // the actor gives 3 logits
  agents::SavedPolicy saved;
  saved.env_id = "TestEnv-v0";
  saved.snapshot = p;
  saved.source = "policy file 'x'";
  const fs::path dir = testing::scratch_dir("onnx_refused");
  try {
    export_onnx(saved, meta(), dir / "p.onnx");
    FAIL() << "exported an inconsistent policy";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("policy file 'x': saved policy group 0 has an actor of 3 "
                                         "outputs for actions Discrete(5)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(fs::is_empty(dir));
}

// --- Runtimes trustrl did not write -------------------------------------------------------------

void write_floats(const fs::path& path, const std::vector<float>& v) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(v.data()),
             static_cast<std::streamsize>(v.size() * sizeof(float)));
}

// Exports `policy`'s group 0, plays kRows observations through trustrl's own inference, and has
// check_onnx.py load the file with onnx.checker and OpenCV's DNN and compare.
void check_with_other_runtimes(const std::string& name, const PolicySnapshot& policy,
                               std::uint64_t seed, double obs_scale = 3.0) {
  const GroupPolicy& g = policy.groups[0];
  const fs::path dir = testing::scratch_dir("onnx_runtime_" + name);
  write_file_atomic(dir / "model.onnx", onnx_model(policy, 0, meta()));

  Rng rng(seed);
  const auto in_dim = static_cast<std::size_t>(g.actor_input_dim());
  const auto obs_dim = static_cast<std::size_t>(g.obs_dim());
  const std::vector<float> obs = normal(rng, kRows * obs_dim, obs_scale, 0.5);
  std::vector<float> one_hot, inputs(kRows * in_dim);
  for (std::size_t r = 0; r < kRows; ++r) {
    const int agent = g.agents[r % g.agents.size()];
    agents::write_actor_input(g, &obs[r * obs_dim], agent, &inputs[r * in_dim]);
    for (int a = 0; a < g.num_agents && g.agent_id_input; ++a)
      one_hot.push_back(a == agent ? 1.0f : 0.0f);
  }
  g.obs_normalizer.normalize(inputs.data(), kRows, inputs.data());

  agents::PolicyInference inference(g.weights);
  std::vector<float> head;
  inference.actor_outputs(inputs.data(), kRows, head);
  agents::ActResult act;
  Rng unused(0);
  inference.act(inputs.data(), kRows, /*deterministic=*/true, unused, act);

  nlohmann::json manifest;
  manifest["rows"] = kRows;
  manifest["metadata"] = {
      {"env_id", "TestEnv-v0"}, {"spec_hash", "0x0123456789abcdef"}, {"trustrl_version", "9.8.7"}};
  write_floats(dir / "observation.bin", obs);
  manifest["inputs"]["observation"] = obs_dim;
  if (g.agent_id_input) {
    write_floats(dir / "agent_one_hot.bin", one_hot);
    manifest["inputs"]["agent_one_hot"] = g.num_agents;
  }
  const envs::Space& space = g.weights.action_space;
  const auto dim = static_cast<std::size_t>(space.flat_dim());
  if (space.is_discrete()) {
    write_floats(dir / "logits.bin", head);
    manifest["outputs"]["logits"] = space.num_logits();
    manifest["categorical_blocks"] =
        space.kind == envs::SpaceKind::kDiscrete ? std::vector<std::int64_t>{space.n} : space.nvec;
    manifest["action_start"] = space.kind == envs::SpaceKind::kDiscrete ? space.start : 0;
    write_floats(dir / "action.bin",
                 std::vector<float>(act.discrete_actions.begin(), act.discrete_actions.end()));
  } else {
    write_floats(dir / "mean.bin", head);
    manifest["outputs"]["mean"] = dim;
    // The actor's deterministic action: the mean clamped to the bounds (env_actor.cpp).
    std::vector<float> action(act.continuous_actions);
    for (std::size_t i = 0; i < action.size(); ++i)
      action[i] = std::clamp(action[i], space.low[i % dim], space.high[i % dim]);
    write_floats(dir / "action.bin", action);
    std::vector<float> log_std(kRows * dim);
    if (!g.weights.gsde) {
      for (std::size_t i = 0; i < log_std.size(); ++i) log_std[i] = g.weights.log_std[i % dim];
    } else {
      // The latent features: the actor without its last layer, read through an identity layer.
      agents::PolicyWeights trunk = g.weights;
      trunk.actor.pop_back();
      const int latent = trunk.actor.back().out;
      DenseLayer identity{latent, latent, std::vector<float>(latent * latent, 0.0f),
                          std::vector<float>(latent, 0.0f)};
      for (int j = 0; j < latent; ++j) identity.w[static_cast<std::size_t>(j * latent + j)] = 1;
      trunk.actor.push_back(identity);
      std::vector<float> features;
      agents::PolicyInference(trunk).actor_outputs(inputs.data(), kRows, features);
      for (std::size_t r = 0; r < kRows; ++r)
        for (std::size_t k = 0; k < dim; ++k) {
          double variance = 1e-6;
          for (std::size_t j = 0; j < static_cast<std::size_t>(latent); ++j) {
            const double l = features[r * latent + j];
            variance += l * l * std::exp(2.0 * g.weights.log_std[j * dim + k]);
          }
          log_std[r * dim + k] = static_cast<float>(0.5 * std::log(variance));
        }
    }
    write_floats(dir / "log_std.bin", log_std);
    manifest["outputs"]["log_std"] = dim;
  }
  manifest["outputs"]["action"] = dim;
  write_file_atomic(dir / "manifest.json", manifest.dump(2));

  const std::string cmd = std::string(TRUSTRL_PYTHON) + " " + TRUSTRL_SOURCE_DIR +
                          "/tests/deploy/check_onnx.py " + dir.string() + " > " +
                          (dir / "log.txt").string() + " 2>&1";
  const int status = std::system(cmd.c_str());
  const std::string log = read_text_file(dir / "log.txt");
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << log;
  EXPECT_NE(log.find("ok:"), std::string::npos) << log;
  std::printf("%s", log.c_str());
}

TEST(OnnxRuntimes, CategoricalWithNormalization) {
  check_with_other_runtimes("categorical", single({}), 11);
}

TEST(OnnxRuntimes, CategoricalWithAStartAndClippedInputs) {
  GroupShape s;
  s.space = envs::Space::discrete(5, -2);
  s.clip = 1.5;  // many inputs clipped
  s.relu = true;
  check_with_other_runtimes("categorical_start", single(s, 3), 12);
}

TEST(OnnxRuntimes, MultiCategorical) {
  GroupShape s;
  s.space = envs::Space::multi_discrete({3, 2, 4});
  s.hidden = {32};
  check_with_other_runtimes("multi_categorical", single(s, 4), 13);
}

TEST(OnnxRuntimes, DiagonalGaussianWithUniformBounds) {
  GroupShape s;
  s.obs_dim = 8;
  s.space = envs::Space::box(-1, 1, {3});
  check_with_other_runtimes("gaussian", single(s, 5), 14);
}

TEST(OnnxRuntimes, DiagonalGaussianWithPerComponentAndInfiniteBounds) {
  GroupShape s;
  s.space = envs::Space::box({-0.5f, -INFINITY, 0.0f}, {0.5f, 2.0f, INFINITY});
  s.normalize = false;
  s.relu = true;
  check_with_other_runtimes("gaussian_bounds", single(s, 6), 15, 1.0);
}

TEST(OnnxRuntimes, GsdeGaussian) {
  GroupShape s;
  s.space = envs::Space::box(-2, 2, {2});
  s.gsde = true;
  s.hidden = {16, 8};
  check_with_other_runtimes("gsde", single(s, 7), 16);
}

TEST(OnnxRuntimes, SharedGroupWithAgentIds) {
  GroupShape s;
  s.agents = {0, 2};
  s.num_agents = 3;
  s.agent_id_input = true;
  s.space = envs::Space::discrete(4);
  check_with_other_runtimes("agent_ids", single(s, 8), 17);
}

}  // namespace
}  // namespace trustrl::deploy
