#!/usr/bin/env python3
"""A multi-agent simulator in pure Python + numpy with PettingZoo's parallel API, served to trustrl
over gRPC: two agents on a line walk to a shared target.

    /usr/bin/python3 python/examples/coop_line_sim.py --listen 127.0.0.1:0 --num-envs 8
    # prints "listening on 127.0.0.1:PORT"; then, in another shell:
    ./build/cli/trustrl check-env 127.0.0.1:PORT
    ./build/cli/trustrl train configs/mappo_simple_spread.yaml --set env.remote=127.0.0.1:PORT \\
        --set env.id=coop_line_v0 --set env.num_envs=8 --set total_steps=20000

A toy, made to exercise what the protocol's agent axis carries: "stepper" takes Discrete(3) steps
(left, stay, right) and sees (its position, the target); "glider" takes a continuous Box(-1, 1)
velocity and sees (its position, the target, the stepper's position), so the agents differ in
action dtype and observation width. Both are rewarded -|position - target| while they act (the
cooperative part: the episode lasts until both are home), each is done on its own once within
0.1 of the target, and the episode ends when both are done or after 40 steps. The global state is
(stepper, glider, target).
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import trustrl_env  # noqa: E402
from trustrl_env import spaces  # noqa: E402


class CoopLine:
    possible_agents = ["stepper", "glider"]
    metadata = {"name": "coop_line_v0", "render_fps": 10}
    max_episode_steps = 40  # the SDK counts steps and truncates
    reach = 0.1

    def __init__(self):
        self._observation_spaces = {"stepper": spaces.Box(-2.0, 2.0, shape=(2,)),
                                    "glider": spaces.Box(-2.0, 2.0, shape=(3,))}
        self._action_spaces = {"stepper": spaces.Discrete(3),
                               "glider": spaces.Box(-1.0, 1.0, shape=(1,))}
        self.state_space = spaces.Box(-2.0, 2.0, shape=(3,))
        self.rng = np.random.default_rng()
        self.agents = []

    def observation_space(self, agent):
        return self._observation_spaces[agent]

    def action_space(self, agent):
        return self._action_spaces[agent]

    def reset(self, seed=None, options=None):  # seed=None: carry on with the same stream
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.position = {"stepper": self.rng.uniform(-1.0, -0.5), "glider": self.rng.uniform(0.5, 1.0)}
        self.target = self.rng.uniform(-0.3, 0.3)
        self.agents = list(self.possible_agents)
        return {a: self._observe(a) for a in self.agents}, {a: {} for a in self.agents}

    def _observe(self, agent):
        p = self.position
        values = [p[agent], self.target] + ([p["stepper"]] if agent == "glider" else [])
        return np.array(values, dtype=np.float32)

    def state(self):
        return np.array([self.position["stepper"], self.position["glider"], self.target],
                        dtype=np.float32)

    def step(self, actions):
        for agent, action in actions.items():
            move = 0.1 * (int(action) - 1) if agent == "stepper" else \
                0.1 * float(np.clip(action, -1.0, 1.0)[0])
            self.position[agent] = float(np.clip(self.position[agent] + move, -2.0, 2.0))
        distance = {a: abs(self.position[a] - self.target) for a in self.agents}
        observations = {a: self._observe(a) for a in self.agents}
        rewards = {a: -distance[a] for a in self.agents}
        terminations = {a: distance[a] < self.reach for a in self.agents}
        truncations = {a: False for a in self.agents}
        infos = {a: {} for a in self.agents}
        self.agents = [a for a in self.agents if not terminations[a]]
        return observations, rewards, terminations, truncations, infos


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", default="127.0.0.1:0",
                        help="address to listen on; port 0 picks a free one (default %(default)s)")
    parser.add_argument("--num-envs", type=int, default=1, help="copies per session")
    parser.add_argument("--token", default=os.environ.get("TRUSTRL_TOKEN"),
                        help="shared token clients must send (default: $TRUSTRL_TOKEN, or none)")
    args = parser.parse_args()
    trustrl_env.serve(CoopLine, args.listen, num_envs=args.num_envs, token=args.token,
                      server_name="coop_line_sim.py (trustrl_env, Python)")


if __name__ == "__main__":
    main()
