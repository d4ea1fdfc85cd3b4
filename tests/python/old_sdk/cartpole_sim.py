#!/usr/bin/env python3
"""An external simulator in pure Python + numpy, served to trustrl over gRPC: CartPole with the
equations, constants, reset distribution and 500-step limit of Gymnasium's CartPole-v1
(gymnasium/envs/classic_control/cartpole.py; Barto, Sutton & Anderson 1983).

    /usr/bin/python3 python/examples/cartpole_sim.py --listen 127.0.0.1:0 --num-envs 8
    # prints "listening on 127.0.0.1:PORT"; then, in another shell:
    ./build/cli/trustrl check-env 127.0.0.1:PORT

It finds the trustrl_env package beside it and the generated stubs in build/python (or on
PYTHONPATH). Its spec hash equals that of the built-in CartPole-v1, so a policy trained on one runs
on the other.
"""

import argparse
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import trustrl_env  # noqa: E402
from trustrl_env import spaces  # noqa: E402


class CartPole:
    gravity = 9.8
    masscart = 1.0
    masspole = 0.1
    total_mass = masspole + masscart
    length = 0.5  # half the pole's length
    polemass_length = masspole * length
    force_mag = 10.0
    tau = 0.02  # seconds between state updates
    theta_threshold_radians = 12 * 2 * math.pi / 360
    x_threshold = 2.4

    # Counted by the SDK, as Gymnasium's TimeLimit wrapper counts it for gymnasium.make.
    max_episode_steps = 500

    def __init__(self):
        high = np.array([self.x_threshold * 2, np.inf, self.theta_threshold_radians * 2, np.inf],
                        dtype=np.float32)
        self.observation_space = spaces.Box(-high, high)
        self.action_space = spaces.Discrete(2)
        self.rng = np.random.default_rng()
        self.state = None

    def reset(self, seed=None):
        # reset(seed=None) carries on with the same random stream, as Gymnasium's envs do.
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.state = [float(v) for v in self.rng.uniform(low=-0.05, high=0.05, size=(4,))]
        return np.array(self.state, dtype=np.float32), {}

    def step(self, action):
        x, x_dot, theta, theta_dot = self.state
        force = self.force_mag if action == 1 else -self.force_mag
        costheta, sintheta = math.cos(theta), math.sin(theta)
        temp = (force + self.polemass_length * theta_dot ** 2 * sintheta) / self.total_mass
        thetaacc = (self.gravity * sintheta - costheta * temp) / (
            self.length * (4.0 / 3.0 - self.masspole * costheta ** 2 / self.total_mass))
        xacc = temp - self.polemass_length * thetaacc * costheta / self.total_mass
        # Explicit Euler, Gymnasium's default integrator.
        x += self.tau * x_dot
        x_dot += self.tau * xacc
        theta += self.tau * theta_dot
        theta_dot += self.tau * thetaacc
        self.state = [x, x_dot, theta, theta_dot]
        terminated = (x < -self.x_threshold or x > self.x_threshold or
                      theta < -self.theta_threshold_radians or theta > self.theta_threshold_radians)
        return np.array(self.state, dtype=np.float32), 1.0, terminated, False, {}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", default="127.0.0.1:0",
                        help="address to listen on; port 0 picks a free one (default %(default)s)")
    parser.add_argument("--num-envs", type=int, default=1, help="copies per session")
    parser.add_argument("--token", default=os.environ.get("TRUSTRL_TOKEN"),
                        help="shared token clients must send (default: $TRUSTRL_TOKEN, or none)")
    args = parser.parse_args()
    trustrl_env.serve(CartPole, args.listen, num_envs=args.num_envs, token=args.token,
                      env_id="CartPole-v1", server_name="cartpole_sim.py (trustrl_env, Python)")


if __name__ == "__main__":
    main()
