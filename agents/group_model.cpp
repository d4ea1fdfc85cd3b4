#include "agents/group_model.h"

#include "core/error.h"

namespace trustrl::agents {

GroupModel::GroupModel(std::vector<int> agents_in, const NetworkShape& shape, bool agent_id,
                       int agents_total, CriticInput critic, const PpoConfig& ppo,
                       const TrustRegionConfig& tr, const NetworkConfig& network,
                       const NormalizeConfig& normalize)
    : agents(std::move(agents_in)),
      agent_id_input(agent_id),
      num_agents(agents_total),
      critic_input(critic),
      net(ActorCritic(shape, network)),
      optimizer(std::make_unique<FlatAdam>(*net, ppo.learning_rate, 0.9, 0.999, ppo.adam_eps)),
      trust_region(tr),
      obs_normalizer(static_cast<int>(shape.obs_dim), normalize.observations, normalize.clip_obs,
                     normalize.epsilon),
      critic_normalizer(static_cast<int>(shape.critic_input_dim), normalize.observations,
                        normalize.clip_obs, normalize.epsilon),
      value_normalizer(ppo.value_norm) {}

GroupPolicy GroupModel::policy() const {
  GroupPolicy g;
  g.agents = agents;
  g.weights = export_weights(*net);
  g.agent_id_input = agent_id_input;
  g.num_agents = num_agents;
  g.critic_input = critic_input;
  g.obs_normalizer = obs_normalizer;
  g.critic_normalizer = critic_normalizer;
  g.value_normalizer = value_normalizer;
  return g;
}

void GroupModel::save(ByteWriter& out) const {
  optimizer->save(out);
  trust_region.save(out);
  obs_normalizer.save(out);
  critic_normalizer.save(out);
  value_normalizer.save(out);
}

void GroupModel::load(ByteReader& in) {
  const int obs_dim = obs_normalizer.dim(), critic_dim = critic_normalizer.dim();
  optimizer->load(in);
  trust_region.load(in);
  obs_normalizer.load(in);
  critic_normalizer.load(in);
  value_normalizer.load(in);
  // The statistics must be as wide as the networks they feed, or normalizing reads past them.
  if (obs_normalizer.dim() != obs_dim || critic_normalizer.dim() != critic_dim)
    throw Error("saved input statistics have " + std::to_string(obs_normalizer.dim()) + " and " +
                std::to_string(critic_normalizer.dim()) + " values; the networks take " +
                std::to_string(obs_dim) + " and " + std::to_string(critic_dim));
}

}  // namespace trustrl::agents
