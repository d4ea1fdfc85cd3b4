#include "deploy/onnx_export.h"

#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <map>

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
  const int outputs = static_cast<int>(s.space.is_discrete() ? s.space.num_logits()
                                                             : s.space.flat_dim());
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
    g.weights.log_std = normal(rng, static_cast<std::size_t>(s.space.flat_dim()) *
                                        static_cast<std::size_t>(s.gsde ? width : 1),
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

}  // namespace
}  // namespace trustrl::deploy
