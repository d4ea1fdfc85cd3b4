#include "deploy/onnx_export.h"

#include <onnx/onnx_pb.h>

#include <cfloat>
#include <cmath>
#include <string>

#include "core/error.h"
#include "core/files.h"

namespace trustrl::deploy {

namespace {

using agents::GroupPolicy;

// Adds nodes and initializers to a graph, naming intermediate tensors t0, t1, ...
class GraphBuilder {
 public:
  explicit GraphBuilder(onnx::GraphProto& graph) : graph_(graph) {}

  std::string constant(const std::vector<float>& values, const std::vector<std::int64_t>& dims) {
    onnx::TensorProto* t = graph_.add_initializer();
    t->set_name(fresh());
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (const auto d : dims) t->add_dims(d);
    for (const float v : values) t->add_float_data(v);
    return t->name();
  }

  std::string constant(const std::vector<std::int64_t>& values) {
    onnx::TensorProto* t = graph_.add_initializer();
    t->set_name(fresh());
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(static_cast<std::int64_t>(values.size()));
    for (const auto v : values) t->add_int64_data(v);
    return t->name();
  }

  /// A node of `op` on `inputs`; its output is `output` or a fresh name. Returns the node.
  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::string& output = "") {
    onnx::NodeProto* n = graph_.add_node();
    n->set_op_type(op);
    n->set_name(op + "_" + std::to_string(graph_.node_size() - 1));
    for (const auto& in : inputs) n->add_input(in);
    n->add_output(output.empty() ? fresh() : output);
    return *n;
  }

  std::string op(const std::string& op, const std::vector<std::string>& inputs,
                 const std::string& output = "") {
    return node(op, inputs, output).output(0);
  }

 private:
  std::string fresh() { return "t" + std::to_string(next_++); }
  onnx::GraphProto& graph_;
  int next_ = 0;
};

void set_float(onnx::NodeProto& n, const std::string& name, float value) {
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(value);
}

void set_int(onnx::NodeProto& n, const std::string& name, std::int64_t value) {
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

// A [batch, width] tensor's type, the batch dimension dynamic.
void add_value(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>* values,
               const std::string& name, int elem_type, std::int64_t width, const std::string& doc) {
  onnx::ValueInfoProto* v = values->Add();
  v->set_name(name);
  v->set_doc_string(doc);
  onnx::TypeProto_Tensor* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(elem_type);
  t->mutable_shape()->add_dim()->set_dim_param("batch");
  t->mutable_shape()->add_dim()->set_dim_value(width);
}

// +-inf bounds become +-FLT_MAX: Clip takes finite attributes, and clamping a finite value to
// FLT_MAX changes nothing.
float finite_bound(float b) { return std::isinf(b) ? std::copysign(FLT_MAX, b) : b; }

std::string clip(GraphBuilder& b, const std::string& x, float low, float high,
                 const std::string& output = "") {
  onnx::NodeProto& n = b.node("Clip", {x}, output);
  set_float(n, "min", finite_bound(low));
  set_float(n, "max", finite_bound(high));
  return n.output(0);
}

std::string slice(GraphBuilder& b, const std::string& x, std::int64_t begin, std::int64_t end) {
  return b.op("Slice", {x, b.constant({begin}), b.constant({end}), b.constant({1})});
}

std::string argmax(GraphBuilder& b, const std::string& logits, const std::string& output = "") {
  onnx::NodeProto& n = b.node("ArgMax", {logits}, output);
  set_int(n, "axis", 1);
  set_int(n, "keepdims", 1);  // [batch, 1], so blocks concatenate into [batch, components]
  return n.output(0);
}

void add_meta(onnx::ModelProto& model, const std::string& key, const std::string& value) {
  onnx::StringStringEntryProto* e = model.add_metadata_props();
  e->set_key(key);
  e->set_value(value);
}

std::string head_name(const agents::PolicyWeights& w) {
  switch (w.action_space.kind) {
    case envs::SpaceKind::kDiscrete:
      return "categorical";
    case envs::SpaceKind::kMultiDiscrete:
      return "multi_categorical";
    case envs::SpaceKind::kBox:
      break;
  }
  return w.gsde ? "gsde_gaussian" : "diagonal_gaussian";
}

}  // namespace

std::string onnx_model(const agents::PolicySnapshot& policy, int index, const OnnxMetadata& meta) {
  if (index < 0 || index >= static_cast<int>(policy.groups.size()))
    throw Error("the policy has no agent group " + std::to_string(index));
  const GroupPolicy& group = policy.groups[static_cast<std::size_t>(index)];
  agents::check_group(group, "saved policy group " + std::to_string(index));
  const agents::PolicyWeights& w = group.weights;
  const envs::Space& space = w.action_space;

  onnx::ModelProto model;
  model.set_ir_version(onnx::IR_VERSION);
  model.set_producer_name("trustrl");
  model.set_producer_version(meta.trustrl_version);
  model.add_opset_import()->set_version(kOnnxOpset);  // the default domain, ai.onnx
  onnx::GraphProto& graph = *model.mutable_graph();
  graph.set_name("trustrl_policy_group" + std::to_string(index));
  GraphBuilder b(graph);

  // The actor's input row: the observation, then (parameter-shared groups) the agent's one-hot id.
  add_value(graph.mutable_input(), "observation", onnx::TensorProto::FLOAT, group.obs_dim(),
            "raw observation of one agent per row, as the env gives it");
  std::string x = "observation";
  if (group.agent_id_input) {
    add_value(graph.mutable_input(), "agent_one_hot", onnx::TensorProto::FLOAT, group.num_agents,
              "one-hot id of the row's agent among the env's " + std::to_string(group.num_agents) +
                  " agents");
    onnx::NodeProto& cat = b.node("Concat", {x, "agent_one_hot"});
    set_int(cat, "axis", 1);
    x = cat.output(0);
  }

  // Frozen observation normalization, as ObsNormalizer::normalize computes it in float.
  const agents::ObsNormalizer& norm = group.obs_normalizer;
  if (norm.enabled()) {
    const auto dim = static_cast<std::int64_t>(norm.shift().size());
    x = b.op("Sub", {x, b.constant(norm.shift(), {dim})});
    x = b.op("Mul", {x, b.constant(norm.scale(), {dim})});
    const auto c = static_cast<float>(norm.clip());
    x = clip(b, x, -c, c);
  }

  // The actor MLP: x W + b per layer, the activation between layers, none after the last.
  const bool categorical = space.is_discrete();
  const std::string head = categorical ? "logits" : "mean";
  std::string latent;
  for (std::size_t i = 0; i < w.actor.size(); ++i) {
    const agents::DenseLayer& layer = w.actor[i];
    const bool last = i + 1 == w.actor.size();
    latent = x;
    x = b.op("MatMul", {x, b.constant(layer.w, {layer.in, layer.out})});
    x = b.op("Add", {x, b.constant(layer.b, {layer.out})}, last ? head : "");
    if (!last) x = b.op(w.relu ? "Relu" : "Tanh", {x});
  }

  // The action head.
  const std::int64_t action_dim = space.flat_dim();
  if (categorical) {
    add_value(graph.mutable_output(), "logits", onnx::TensorProto::FLOAT, space.num_logits(),
              space.kind == envs::SpaceKind::kDiscrete
                  ? "unnormalized log-probabilities of the categorical distribution"
                  : "unnormalized log-probabilities, one block per component, concatenated");
    add_value(graph.mutable_output(), "action", onnx::TensorProto::INT64, action_dim,
              "the deterministic action: the most likely value per component (first on ties)");
    if (space.kind == envs::SpaceKind::kDiscrete) {
      if (space.start == 0) {
        argmax(b, "logits", "action");
      } else {
        b.op("Add", {argmax(b, "logits"), b.constant({space.start})}, "action");
      }
    } else {
      std::vector<std::string> blocks;
      std::int64_t offset = 0;
      for (const std::int64_t n : space.nvec) {
        blocks.push_back(argmax(b, slice(b, "logits", offset, offset + n)));
        offset += n;
      }
      if (blocks.size() == 1) {
        b.op("Identity", blocks, "action");
      } else {
        onnx::NodeProto& cat = b.node("Concat", blocks, "action");
        set_int(cat, "axis", 1);
      }
    }
  } else {
    add_value(graph.mutable_output(), "mean", onnx::TensorProto::FLOAT, action_dim,
              "mean of the Gaussian, before clipping to the action bounds");
    add_value(graph.mutable_output(), "log_std", onnx::TensorProto::FLOAT, action_dim,
              w.gsde ? "log standard deviation of the gSDE noise at this state"
                     : "log standard deviation (state-independent: every row holds the same)");
    add_value(graph.mutable_output(), "action", onnx::TensorProto::FLOAT, action_dim,
              "the deterministic action: the mean clipped to the action space's bounds");
    if (w.gsde) {
      // gSDE: std_k = sqrt(sum_j latent_j^2 exp(2 log_std[j, k]) + eps), as inference.cpp.
      const auto latent_dim = static_cast<std::int64_t>(w.actor[w.actor.size() - 2].out);
      std::vector<float> variance(w.log_std.size());
      for (std::size_t i = 0; i < variance.size(); ++i)
        variance[i] = static_cast<float>(std::exp(2.0 * w.log_std[i]));
      std::string v = b.op("Mul", {latent, latent});
      v = b.op("MatMul", {v, b.constant(variance, {latent_dim, action_dim})});
      v = b.op("Add", {v, b.constant({1e-6f}, {1})});  // inference.cpp's kGsdeVarianceEpsilon
      b.op("Mul", {b.op("Log", {v}), b.constant({0.5f}, {1})}, "log_std");
    } else {
      // A constant output, computed from the mean so that it has the batch dimension.
      const std::vector<float> zeros(static_cast<std::size_t>(action_dim), 0.0f);
      const std::string z = b.op("Mul", {"mean", b.constant(zeros, {action_dim})});
      b.op("Add", {z, b.constant(w.log_std, {action_dim})}, "log_std");
    }
    // The actor clamps each component to the space's bounds before the env gets it.
    bool uniform = true;
    for (std::size_t k = 1; k < space.low.size(); ++k)
      uniform = uniform && space.low[k] == space.low[0] && space.high[k] == space.high[0];
    if (uniform) {
      clip(b, "mean", space.low[0], space.high[0], "action");
    } else {
      std::vector<std::string> parts;
      for (std::int64_t k = 0; k < action_dim; ++k)
        parts.push_back(clip(b, slice(b, "mean", k, k + 1), space.low[static_cast<std::size_t>(k)],
                             space.high[static_cast<std::size_t>(k)]));
      onnx::NodeProto& cat = b.node("Concat", parts, "action");
      set_int(cat, "axis", 1);
    }
  }

  std::string agents;
  for (const int a : group.agents) agents += (agents.empty() ? "" : ",") + std::to_string(a);
  add_meta(model, "env_id", meta.env_id);
  if (meta.spec_hash) add_meta(model, "spec_hash", *meta.spec_hash);
  add_meta(model, "trustrl_version", meta.trustrl_version);
  add_meta(model, "agent_group", std::to_string(index));
  add_meta(model, "agents", agents);
  add_meta(model, "action_space", space.describe());
  add_meta(model, "action_head", head_name(w));
  add_meta(model, "observation_normalization", norm.enabled() ? "included" : "none");
  graph.set_doc_string("trustrl policy, agent group " + std::to_string(index) + " (agents " +
                       agents + ") of " + meta.env_id + ": " + head_name(w) + " head over " +
                       space.describe() + "; see docs/DEPLOY.md");
  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw Error("cannot serialize the ONNX model");
  return bytes;
}

std::vector<std::filesystem::path> onnx_paths(const agents::PolicySnapshot& policy,
                                              const std::filesystem::path& out) {
  if (policy.groups.size() == 1) return {out};
  std::vector<std::filesystem::path> paths;
  for (std::size_t g = 0; g < policy.groups.size(); ++g) {
    std::filesystem::path p = out;
    p.replace_filename(out.stem().string() + ".group" + std::to_string(g) +
                       out.extension().string());
    paths.push_back(p);
  }
  return paths;
}

std::vector<std::filesystem::path> export_onnx(const agents::SavedPolicy& policy,
                                               const OnnxMetadata& meta,
                                               const std::filesystem::path& out) {
  const std::vector<std::filesystem::path> paths = onnx_paths(policy.snapshot, out);
  std::vector<std::string> models;
  try {
    for (std::size_t g = 0; g < paths.size(); ++g)
      models.push_back(onnx_model(policy.snapshot, static_cast<int>(g), meta));
  } catch (const Error& e) {
    throw Error(policy.source + ": " + e.what());
  }
  std::size_t written = 0;
  try {
    for (; written < paths.size(); ++written) write_file_atomic(paths[written], models[written]);
  } catch (const Error&) {
    std::error_code ec;
    for (std::size_t i = 0; i < written; ++i) std::filesystem::remove(paths[i], ec);
    throw;
  }
  return paths;
}

}  // namespace trustrl::deploy
