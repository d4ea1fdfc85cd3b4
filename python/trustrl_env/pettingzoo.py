"""Serve a PettingZoo parallel env with the spec PettingZoo gives it, by module or factory.

    python3 -m trustrl_env.pettingzoo pettingzoo.mpe.simple_spread_v3 --listen 127.0.0.1:5000
    python3 -m trustrl_env.pettingzoo pettingzoo.sisl.multiwalker_v9 --kwarg n_walkers=3

    from trustrl_env import pettingzoo as serving
    serving.serve("pettingzoo.mpe.simple_spread_v3", "127.0.0.1:5000", make_kwargs={"N": 3})

Every copy is module.parallel_env(**kwargs) (or factory(**kwargs)). The time limit is the env's
max_cycles (PettingZoo keeps it on the raw env: `unwrapped.max_cycles`, or on the base env a
wrapper holds), so the served spec says max_episode_steps as trustrl's built-in ids do; the id is
metadata["name"]. multi_agent.py says how the dicts become the protocol's arrays.
"""

import argparse
import importlib
import sys

from . import server as _server
from .gymnasium import add_serving_arguments, parse_kwargs
from .multi_agent import is_parallel_env


def time_limit(env):
    """max_episode_steps or max_cycles of the env, its `unwrapped` env or the base env that one
    wraps (`.env`); 0: none."""
    seen = set()
    todo = [env]
    while todo:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        for name in ("max_episode_steps", "max_cycles"):
            limit = getattr(e, name, None)
            if isinstance(limit, int) and limit > 0:
                return limit
        todo += [getattr(e, "unwrapped", None), getattr(e, "env", None), getattr(e, "aec_env", None)]
    return 0


def env_maker(env, **kwargs):
    """A function making one copy: a module (or its import path) with parallel_env(), or a
    factory function; a parallel env object cannot be copied."""
    if isinstance(env, str):
        try:
            env = importlib.import_module(env)
        except ImportError as e:
            raise ImportError(f"cannot import {env!r} ({e}): name a module with parallel_env(), "
                              "e.g. pettingzoo.mpe.simple_spread_v3") from e
    factory = getattr(env, "parallel_env", None)
    if factory is None:
        if is_parallel_env(env) or not callable(env):
            raise TypeError(f"{env!r} cannot be copied: pass its module (e.g. "
                            "pettingzoo.mpe.simple_spread_v3) or a function that makes one")
        factory = env
    return lambda: factory(**kwargs)


def _with_limit(make_env, options):
    if options.get("max_episode_steps") is None:
        probe = make_env()
        options["max_episode_steps"] = time_limit(probe)
        close = getattr(probe, "close", None)
        if callable(close):
            close()
    return options


def start_server(env, address="127.0.0.1:0", num_envs=1, token=None, make_kwargs=None, **options):
    """Starts serving `env` (see env_maker) and returns an EnvServer; make_kwargs go to
    parallel_env(), the other options to trustrl_env.start_server."""
    make_env = env_maker(env, **(make_kwargs or {}))
    return _server.start_server(make_env, address, num_envs=num_envs, token=token,
                                **_with_limit(make_env, options))


def serve(env, address="127.0.0.1:0", num_envs=1, token=None, make_kwargs=None, **options):
    """Serves `env` until SIGINT or SIGTERM; prints "listening on HOST:PORT" once ready."""
    make_env = env_maker(env, **(make_kwargs or {}))
    _server.serve(make_env, address, num_envs=num_envs, token=token, **_with_limit(make_env, options))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m trustrl_env.pettingzoo",
                                     description="Serve a PettingZoo parallel env to trustrl, with its spec.")
    parser.add_argument("module", help="a module with parallel_env(), e.g. pettingzoo.mpe.simple_spread_v3")
    add_serving_arguments(parser)
    args = parser.parse_args(argv)
    serve(args.module, args.listen, num_envs=args.num_envs, token=args.token,
          make_kwargs=parse_kwargs(args.kwarg), max_episode_steps=args.max_episode_steps)


if __name__ == "__main__":
    sys.exit(main())
