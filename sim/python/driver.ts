/**
 * The Python half of the adapter: a module that the adapter runs once per Pyodide instance.
 * Its `Driver` loads one environment and offers the handful of calls the TypeScript side makes
 * every frame; each takes and returns strings or nothing, so no proxy crosses the boundary per
 * frame and nothing leaks.
 *
 * State crosses as JSON text: `json.dumps` writes floats in their shortest round-trip form, which
 * `JSON.parse` reads back to the same double, and it refuses NaN and Infinity.
 *
 * The global `random` module is shared by every environment loaded in one interpreter, so each
 * driver keeps its own copy of its state and swaps it in before any call into its environment
 * (only when another driver used it last).
 */
export const DRIVER_SOURCE = `
import json, os, random, sys, types

class ConcordConfigError(Exception):
    """The environment cannot run as a Concord sim (reported as BAD_CONFIG)."""

class ConcordStateError(Exception):
    """A value the environment returned has no canonical encoding (reported as BAD_STATE)."""

REQUIRED = ("reset", "step", "get_state", "set_state")
MAX_SAFE = 2 ** 53 - 1
# json.dumps writes ASCII; mapping every digit to "0" lets a substring search find digit runs
# (a regular expression costs ten times more in Pyodide).
ZERO_DIGITS = bytes.maketrans(b"123456789", b"000000000")
SIXTEEN_DIGITS = b"0" * 16
_owner = [None]
_loaded = [0]

def check_hash_seed():
    if sys.flags.hash_randomization or os.environ.get("PYTHONHASHSEED") != "0":
        raise ConcordConfigError(
            "this Pyodide instance hashes strings with a random seed, so set iteration order "
            "differs between peers; load it with loadConcordPyodide() (env PYTHONHASHSEED=0)")

def check_json(value, path):
    """Refuses what JSON cannot carry back unchanged (names the path)."""
    t = type(value)
    if value is None or t is bool or t is str:
        return
    if t is int:
        if abs(value) > MAX_SAFE:
            raise ConcordStateError(f"integer beyond 2**53 at {path}")
        return
    if t is float:
        if value != value or value in (float("inf"), float("-inf")):
            raise ConcordStateError(f"non-finite float {value} at {path}")
        return
    if t is list or t is tuple:
        for i, v in enumerate(value):
            check_json(v, f"{path}[{i}]")
        return
    if t is dict:
        for k, v in value.items():
            if type(k) is not str:
                raise ConcordStateError(
                    f"key {k!r} at {path} is not a string (JSON would turn it into one)")
            check_json(v, f"{path}.{k}")
        return
    raise ConcordStateError(f"{t.__name__} at {path} is not JSON-compatible")

def find_big_int(value, path):
    if type(value) is int:
        return path if abs(value) > MAX_SAFE else None
    items = value.items() if type(value) is dict else (
        enumerate(value) if type(value) in (list, tuple) else ())
    for k, v in items:
        found = find_big_int(v, f"{path}.{k}" if type(value) is dict else f"{path}[{k}]")
        if found:
            return found
    return None

def to_json(value, what):
    try:
        text = json.dumps(value, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as e:
        raise ConcordStateError(f"{what} is not JSON-compatible: {e}") from None
    # Integers past 2**53 would lose digits in JavaScript; only long digit runs can be one.
    if SIXTEEN_DIGITS in text.encode("ascii").translate(ZERO_DIGITS):
        path = find_big_int(value, "$")
        if path:
            raise ConcordStateError(f"{what} holds an integer beyond 2**53 at {path}")
    return text

def first_difference(a, b, path="$"):
    if type(a) is dict and type(b) is dict:
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k}"
            d = first_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if type(a) is list and type(b) is list:
        if len(a) != len(b):
            return f"{path} (length {len(a)} vs {len(b)})"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else path

def find_class(module, class_name):
    if class_name:
        cls = getattr(module, class_name, None)
        if not isinstance(cls, type):
            raise ConcordConfigError(f"the Python source defines no class {class_name}")
        return cls
    found = [v for v in vars(module).values()
             if isinstance(v, type) and v.__module__ == module.__name__ and hasattr(v, "step")]
    if len(found) != 1:
        names = ", ".join(sorted(c.__name__ for c in found)) or "none"
        raise ConcordConfigError(
            f"cannot tell which class is the environment (classes with step: {names}); "
            "name it with className")
    return found[0]

def action_count(env, name, agent):
    """n of a discrete action space (Gymnasium's Discrete), else None.

    PettingZoo spells it action_space(agent), Gymnasium an attribute action_space; a dict keyed
    by agent id is accepted too."""
    space = getattr(env, "action_space", None)
    if space is None:
        return None
    try:
        if type(space) is dict:
            space = space.get(agent)
        elif callable(space) and not hasattr(space, "n"):
            space = space(agent)
    except Exception as e:
        raise ConcordConfigError(
            f"Python environment {name}: action_space({agent!r}) raised "
            f"{type(e).__name__}: {e}") from None
    n = getattr(space, "n", None)
    if n is None or type(n) is bool or not hasattr(n, "__index__"):
        return None
    n = n.__index__()
    return n if 1 <= n <= MAX_SAFE else None

class Driver:
    def __init__(self, source, class_name, players, seed, kwargs_json):
        check_hash_seed()
        self.rstate = random.Random(seed).getstate()
        self.last_random = None
        self.last = None
        self.claim()
        _loaded[0] += 1
        self.module_name = f"concord_env_{_loaded[0]}"
        module = types.ModuleType(self.module_name)
        sys.modules[self.module_name] = module
        exec(compile(source, f"<{self.module_name}>", "exec"), module.__dict__)
        cls = find_class(module, class_name)
        self.name = name = cls.__name__
        env = cls(**json.loads(kwargs_json))
        for method in REQUIRED:
            if not callable(getattr(env, method, None)):
                raise ConcordConfigError(f"Python environment {name} has no {method} method")
        render = getattr(env, "render", None)
        self.env_render = render if callable(render) else None
        env.reset(seed=seed)
        ids, origin = getattr(env, "possible_agents", None), "possible_agents"
        if ids is None:
            ids, origin = getattr(env, "agents", None), "agents"
        if ids is None:
            ids, origin = list(range(players)), "player slots"
        ids = list(ids)
        if len(ids) != players:
            raise ConcordConfigError(
                f"Python environment {name} has {len(ids)} agents ({origin}) "
                f"but the match has {players} players")
        for a in ids:
            if type(a) not in (str, int):
                raise ConcordConfigError(
                    f"Python environment {name}: agent id {a!r} is not a string or an integer")
        self.agent_ids = ids
        self.action_counts = [action_count(env, name, a) for a in ids]
        self.env_step = env.step
        self.env_get_state = env.get_state
        self.env_set_state = env.set_state
        self.env = env
        self.check_round_trip()

    def check_round_trip(self):
        first = self.env_get_state()
        try:
            check_json(first, "$")
        except ConcordStateError as e:
            raise ConcordConfigError(f"Python environment {self.name}: get_state(): {e}") from None
        text = to_json(first, f"{self.name}.get_state()")
        self.env_set_state(json.loads(text))
        again = json.loads(to_json(self.env_get_state(), f"{self.name}.get_state()"))
        d = first_difference(json.loads(text), again)
        if d:
            raise ConcordConfigError(
                f"Python environment {self.name}: get_state() after set_state(get_state()) "
                f"differs at {d}; set_state must restore everything get_state returns")

    def claim(self):
        owner = _owner[0]
        if owner is self:
            return
        if owner is not None:
            owner.rstate = random.getstate()
        random.setstate(self.rstate)
        _owner[0] = self

    def info(self):
        return json.dumps({"className": self.name, "agentIds": self.agent_ids,
                           "actionCounts": self.action_counts,
                           "hasRender": self.env_render is not None})

    def _step(self, actions):
        result = self.env_step(dict(zip(self.agent_ids, actions)))
        if type(result) not in (tuple, list) or len(result) != 5:
            raise ConcordStateError(
                f"{self.name}.step must return (observations, rewards, terminateds, "
                f"truncateds, infos), got {type(result).__name__}")
        self.last = result

    def step(self, actions_json):
        self.claim()
        self._step(json.loads(actions_json))

    def run_steps(self, actions_json):
        self.claim()
        for actions in json.loads(actions_json):
            self._step(actions)

    def save_env(self, strict):
        self.claim()
        state = self.env_get_state()
        if strict:
            check_json(state, "$")
        return to_json(state, f"{self.name}.get_state()")

    def save_random(self):
        """The global random state as JSON, or None when unchanged since the last call."""
        self.claim()
        state = random.getstate()
        if state == self.last_random:
            return None
        self.last_random = state
        return json.dumps(state)

    def load(self, env_json, random_json):
        """random_json None: the snapshot holds the random state last returned by save_random."""
        self.claim()
        if random_json is None:
            random.setstate(self.last_random)
        else:
            version, internal, gauss = json.loads(random_json)
            random.setstate((version, tuple(internal), gauss))
            self.last_random = random.getstate()
        self.env_set_state(json.loads(env_json))
        self.last = None

    def reset(self, seed):
        """Frame 0 of a match seeded seed: the global random seeded as at load, reset(seed=)."""
        self.claim()
        random.setstate(random.Random(seed).getstate())
        self.last_random = None
        self.env.reset(seed=seed)
        self.last = None

    def render(self):
        if self.env_render is None:
            return None
        self.claim()
        return to_json(self.env_render(), f"{self.name}.render()")

    def last_step(self):
        if self.last is None:
            return None
        obs, rewards, terminateds, truncateds, infos = self.last
        return to_json({"observations": obs, "rewards": rewards, "terminateds": terminateds,
                        "truncateds": truncateds, "infos": infos}, f"{self.name}.step() result")

    def dispose(self):
        if _owner[0] is self:
            _owner[0] = None
        sys.modules.pop(self.module_name, None)
        self.env = self.env_step = self.env_get_state = self.env_set_state = None
        self.env_render = None

`;
