"""Stable-Baselines3's own PPO on LunarLander-v3 with rl-baselines3-zoo's ppo.yml settings (its
LunarLander-v2 entry: 16 envs x 1024 steps, minibatches of 64, 4 epochs, gamma 0.999, lambda 0.98,
entropy 0.01, 1e6 steps; SB3's defaults for the rest), then the final policy over 100
deterministic episodes (seed 2024), as bench/learn.sh evaluates trustrl's. Prints one CSV row:
ppo,env,seed,steps,return_mean,return_std,length_mean,train_seconds
and writes SB3's progress.csv (its explained variance per update) under LOG_DIR. Needs the
packages bench/sb3_contrib_trpo.sh lists, on PYTHONPATH.

usage: run_ppo.py SEED LOG_DIR [STEPS]
"""
import sys
import time

import torch
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.logger import configure

from evaluation import evaluate  # bench/sb3/evaluation.py

seed, log_dir = int(sys.argv[1]), sys.argv[2]
steps = int(float(sys.argv[3])) if len(sys.argv) > 3 else 1_000_000
torch.set_num_threads(1)  # as trustrl runs
env = make_vec_env("LunarLander-v3", n_envs=16, seed=seed)
model = PPO("MlpPolicy", env, seed=seed, verbose=0, n_steps=1024, batch_size=64, gae_lambda=0.98,
            gamma=0.999, n_epochs=4, ent_coef=0.01)
model.set_logger(configure(log_dir, ["csv"]))
start = time.time()
model.learn(steps)
train_seconds = time.time() - start

eval_env = make_vec_env("LunarLander-v3", n_envs=1, seed=2024)
mean, std, length = evaluate(model, eval_env)
print(f"ppo,LunarLander-v3,{seed},{steps},{mean:.2f},{std:.2f},{length:.0f},{train_seconds:.0f}", flush=True)
