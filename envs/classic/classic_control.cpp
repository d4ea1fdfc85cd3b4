#include "envs/classic/classic_control.h"

#include "envs/classic/acrobot.h"
#include "envs/classic/cartpole.h"
#include "envs/classic/mountain_car.h"
#include "envs/classic/pendulum.h"

namespace trustrl::envs {

namespace {
template <class E>
EnvFactory factory() {
  return [](EnvOptions& options) -> std::unique_ptr<Env> { return std::make_unique<E>(options); };
}
}  // namespace

void register_classic_control(EnvRegistry& registry) {
  registry.add(
      {"CartPole-v1", "balance a pole on a cart (discrete, 2 actions)", factory<CartPole>()});
  registry.add({"Acrobot-v1", "swing a two-link arm above a line (discrete, 3 actions)",
                factory<Acrobot>()});
  registry.add({"MountainCar-v0", "drive an underpowered car up a hill (discrete, 3 actions)",
                factory<MountainCar>()});
  registry.add({"MountainCarContinuous-v0", "drive an underpowered car up a hill (continuous)",
                factory<MountainCarContinuous>()});
  registry.add(
      {"Pendulum-v1", "swing a pendulum up and hold it (continuous)", factory<Pendulum>()});
}

}  // namespace trustrl::envs
