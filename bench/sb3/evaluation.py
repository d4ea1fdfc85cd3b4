"""The evaluation bench/learn.sh gives trustrl's policies, for an SB3 model: the final policy over
100 deterministic episodes of a one-copy env seeded 2024."""
import numpy as np


def evaluate(model, eval_env, episodes=100):
    """(mean, std) of the episodes' returns and the mean length, from the Monitor's records."""
    returns, lengths = [], []
    obs = eval_env.reset()
    while len(returns) < episodes:
        action, _ = model.predict(obs, deterministic=True)
        obs, _, done, info = eval_env.step(action)
        if done[0]:  # the Monitor wrapper's episode record
            returns.append(info[0]["episode"]["r"])
            lengths.append(info[0]["episode"]["l"])
    return np.mean(returns), np.std(returns), np.mean(lengths)
