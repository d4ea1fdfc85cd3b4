// `trustrl envs`: the registered env ids with their spaces.

#include <malloc.h>

#include <cstdio>

#include "cli/command_list.h"
#include "cli/commands.h"
#include "envs/registry.h"

namespace trustrl::cli {

void add_envs_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("envs", summary_of("envs"));
  cmd->callback([] {
    auto& registry = envs::EnvRegistry::global();
    for (const auto& id : registry.ids(/*multi_agent=*/false)) {
      auto env = registry.make(id);
      const auto& spec = env->spec();
      std::printf("%-28s %-s\n%28s obs %s, action %s, limit %d steps\n", id.c_str(),
                  registry.entry(id).description.c_str(), "",
                  spec.observation_space.describe().c_str(), spec.action_space.describe().c_str(),
                  spec.max_episode_steps);
      env = nullptr;
      // Give each env's memory back before the next is made: the heap otherwise keeps the
      // fragments of all of them (measured: 31 MB peak resident instead of 23 MB).
      ::malloc_trim(0);
    }
    std::printf("\nmulti-agent:\n");
    for (const auto& id : registry.ids(/*multi_agent=*/true)) {
      auto env = registry.make_multi_agent(id);
      const auto& spec = env->spec();
      std::printf("%-28s %-s\n", id.c_str(), registry.entry(id).description.c_str());
      for (int a = 0; a < spec.num_agents(); ++a)
        std::printf("%28s %s: obs %s, action %s\n", "",
                    spec.agent_names[static_cast<std::size_t>(a)].c_str(),
                    spec.observation_spaces[static_cast<std::size_t>(a)].describe().c_str(),
                    spec.action_spaces[static_cast<std::size_t>(a)].describe().c_str());
      std::printf("%28s state %lld floats, limit %d steps\n", "",
                  static_cast<long long>(spec.state_dim()), spec.max_episode_steps);
      env = nullptr;
      ::malloc_trim(0);
    }
  });
}

}  // namespace trustrl::cli
