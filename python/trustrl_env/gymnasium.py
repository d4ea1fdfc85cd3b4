"""Serve a Gymnasium env, by id or as an env object, with the spec Gymnasium gives it.

    python3 -m trustrl_env.gymnasium LunarLander-v3 --listen 127.0.0.1:5000
    python3 -m trustrl_env.gymnasium BipedalWalker-v3 --kwarg hardcore=true --num-envs 8

    from trustrl_env import gymnasium as serving
    serving.serve("LunarLander-v3", "127.0.0.1:5000", num_envs=8)
    serving.serve(gymnasium.make("LunarLander-v3", continuous=True), "127.0.0.1:5000")

Every copy is gymnasium.make(id, **kwargs), or for an env object gymnasium.make(env.spec) (which
rebuilds it with its kwargs, render mode and wrappers), so the copies keep Gymnasium's TimeLimit
and the served spec has its max_episode_steps, the spaces and the render fps as make() gives
them: the spec hash of the env a policy was trained on. Serving `env.unwrapped` instead serves an
env without a time limit (Gymnasium 1.x keeps it in the wrapper): another spec, episodes that
never truncate.
"""

import argparse
import importlib
import json
import sys

from . import server as _server
from .session import default_time_limit


def _gymnasium():
    try:
        return importlib.import_module("gymnasium")
    except ImportError as e:
        raise ImportError("trustrl_env.gymnasium needs the gymnasium package (pip install gymnasium; "
                          "Box2D envs also need box2d)") from e


def time_limit(env):
    """The episode time limit of a Gymnasium env (its TimeLimit wrapper's, or its spec's); 0: none."""
    return default_time_limit(env)


def env_maker(env, **kwargs):
    """A function making one copy of `env`: an env id (with make() keyword arguments) or an env
    made by gymnasium.make (copied with gymnasium.make(env.spec))."""
    if isinstance(env, str):
        gymnasium = _gymnasium()
        return lambda: gymnasium.make(env, **kwargs)
    if kwargs:
        raise TypeError(f"keyword arguments {sorted(kwargs)} go with an env id; an env object keeps "
                        "the ones it was made with")
    spec = getattr(env, "spec", None)
    if spec is None or not getattr(spec, "id", None):
        raise ValueError(f"{env!r} has no spec (it was not made by gymnasium.make), so it cannot be "
                         "copied: serve it by id, or pass a function that makes a copy to "
                         "trustrl_env.start_server")
    gymnasium = _gymnasium()
    return lambda: gymnasium.make(spec)


def start_server(env, address="127.0.0.1:0", num_envs=1, token=None, make_kwargs=None, **options):
    """Starts serving `env` (an id or an env object, see env_maker) and returns an EnvServer.

    make_kwargs: gymnasium.make() keyword arguments for an id (render_mode among them). The other
    options are trustrl_env.start_server's; max_episode_steps there overrides the env's limit.
    """
    return _server.start_server(env_maker(env, **(make_kwargs or {})), address, num_envs=num_envs,
                                token=token, **options)


def serve(env, address="127.0.0.1:0", num_envs=1, token=None, make_kwargs=None, **options):
    """Serves `env` until SIGINT or SIGTERM; prints "listening on HOST:PORT" once ready."""
    _server.serve(env_maker(env, **(make_kwargs or {})), address, num_envs=num_envs, token=token,
                  **options)


def parse_kwargs(pairs):
    """["continuous=true", "gravity=-9.8", "name=x"] -> {"continuous": True, "gravity": -9.8,
    "name": "x"}: each value read as JSON when it is JSON, else kept as text."""
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--kwarg expects key=value, got {pair!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def add_serving_arguments(parser):
    """The command-line options both serving modules share."""
    parser.add_argument("--listen", default="127.0.0.1:0", help="address (port 0 picks a free one)")
    parser.add_argument("--num-envs", type=int, default=1, help="copies per session")
    parser.add_argument("--token", default=None, help="shared secret (needed off loopback)")
    parser.add_argument("--kwarg", action="append", metavar="KEY=VALUE",
                        help="a keyword argument for the env (repeatable; values read as JSON)")
    parser.add_argument("--max-episode-steps", type=int, default=None,
                        help="override the env's time limit (default: the env's own)")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m trustrl_env.gymnasium",
                                     description="Serve a Gymnasium env to trustrl, with its spec.")
    parser.add_argument("env_id", help="a registered Gymnasium id, e.g. LunarLander-v3")
    parser.add_argument("--render-mode", default=None, help="make(..., render_mode=...)")
    add_serving_arguments(parser)
    args = parser.parse_args(argv)
    kwargs = parse_kwargs(args.kwarg)
    if args.render_mode is not None:
        kwargs["render_mode"] = args.render_mode
    serve(args.env_id, args.listen, num_envs=args.num_envs, token=args.token, make_kwargs=kwargs,
          max_episode_steps=args.max_episode_steps)


if __name__ == "__main__":
    sys.exit(main())
