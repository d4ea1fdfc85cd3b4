"""sb3-contrib's own TRPO with rl-baselines3-zoo's trpo.yml settings, then the final policy over 100
deterministic episodes, as bench/learn.sh evaluates trustrl's. Prints one CSV row:
env,seed,steps,return_mean,return_std,length_mean,train_seconds
and writes SB3's progress.csv (training return, explained variance, ...) under LOG_DIR.

usage: run_trpo.py ENV_ID SEED LOG_DIR [STEPS]
"""
import sys
import time

import torch
from sb3_contrib import TRPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.logger import configure
from stable_baselines3.common.vec_env import VecNormalize

from evaluation import evaluate  # bench/sb3/evaluation.py

# rl-baselines3-zoo, hyperparams/trpo.yml (DLR-RM/rl-baselines3-zoo at 13a3fe7); what an entry
# leaves out is sb3-contrib TRPO's default, as in the zoo.
ZOO = {
    "CartPole-v1": dict(n_envs=2, n_timesteps=1e5, n_steps=512, batch_size=512, cg_damping=1e-3,
                        gae_lambda=0.98, gamma=0.99, learning_rate=1e-3, n_critic_updates=20),
    "LunarLander-v3": dict(n_envs=2, n_timesteps=2e5, n_steps=512, cg_damping=0.01,
                           gae_lambda=0.98, gamma=0.99, learning_rate=1e-3, n_critic_updates=15),
    "LunarLanderContinuous-v3": dict(normalize=True, n_envs=2, n_timesteps=1e5, n_steps=1024,
                                     n_critic_updates=20),
    "Acrobot-v1": dict(normalize=True, n_envs=2, n_timesteps=1e5, n_steps=1024),
    "MountainCar-v0": dict(normalize=True, n_envs=2, n_timesteps=1e5, n_steps=1024,
                           n_critic_updates=20),
}

env_id, seed, log_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
hp = dict(ZOO[env_id])
steps = int(float(sys.argv[4])) if len(sys.argv) > 4 else int(hp["n_timesteps"])
del hp["n_timesteps"]
normalize = hp.pop("normalize", False)
n_envs = hp.pop("n_envs")
torch.set_num_threads(1)  # as trustrl runs
env = make_vec_env(env_id, n_envs=n_envs, seed=seed)
if normalize:  # the zoo's `normalize: true`: VecNormalize of observations and rewards
    env = VecNormalize(env, gamma=hp.get("gamma", 0.99))
start = time.time()
model = TRPO("MlpPolicy", env, seed=seed, verbose=0, **hp)
model.set_logger(configure(log_dir, ["csv"]))
model.learn(steps)
train_seconds = time.time() - start

eval_env = make_vec_env(env_id, n_envs=1, seed=2024)
if normalize:  # the training run's observation statistics, frozen; raw rewards
    eval_env = VecNormalize(eval_env, training=False, norm_reward=False)
    eval_env.obs_rms = env.obs_rms
mean, std, length = evaluate(model, eval_env)
print(f"{env_id},{seed},{steps},{mean:.2f},{std:.2f},{length:.0f},{train_seconds:.0f}", flush=True)
