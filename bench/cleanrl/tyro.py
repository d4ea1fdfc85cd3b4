# Minimal stand-in for tyro.cli: fills the dataclass from its defaults and `--kebab-name value`
# flags (the PyPI package is not reachable from this machine).
import dataclasses, sys, typing
def cli(cls):
    kwargs, argv = {}, sys.argv[1:]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    i = 0
    while i < len(argv):
        name = argv[i].lstrip('-').replace('-', '_')
        f = fields[name]
        t = typing.get_type_hints(cls)[name]
        v = argv[i + 1]
        kwargs[name] = (v.lower() in ('1', 'true', 'yes')) if t is bool else t(v)
        i += 2
    return cls(**kwargs)
