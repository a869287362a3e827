"""A cooperative two-chef kitchen, in the spirit of Overcooked, as a Concord Python environment.

Two chefs share a 7 x 5 kitchen. Onion soup takes three onions in a pot, cooks for
COOK_TICKS ticks, is taken out with a dish and delivered at the serving window. Orders
arrive from the environment's own seeded random generator; every delivery fills the oldest
open order and rewards both chefs with its value (a fixed small reward when no order is open).

The class follows the contract Concord's Python adapter runs (that of Multi-User Gymnasium):
reset(seed), step(actions) keyed by agent id returning the five-tuple, get_state() returning
JSON-compatible data that includes the random generator, set_state(state), and render()
returning draw primitives. Standard library only, deterministic: no clock, no id(), no
iteration over unordered containers.
"""

import random

LAYOUT = (
    "XXPXPXX",
    "O.....X",
    "X..X..S",
    "D.....X",
    "XXOXXDX",
)
WIDTH = len(LAYOUT[0])
HEIGHT = len(LAYOUT)
COUNTER, ONIONS, DISHES, POT, SERVE, FLOOR = "X", "O", "D", "P", "S", "."

NOOP, UP, DOWN, LEFT, RIGHT, INTERACT = range(6)
MOVES = {UP: (0, -1), DOWN: (0, 1), LEFT: (-1, 0), RIGHT: (1, 0)}
FACING_NAMES = {UP: "up", DOWN: "down", LEFT: "left", RIGHT: "right"}

ONIONS_PER_SOUP = 3
COOK_TICKS = 20
HORIZON = 1200
MAX_ORDERS = 3
ORDER_GAP = (30, 70)  # ticks between orders, inclusive
ORDER_LIFETIME = (150, 300)
ORDER_VALUE = (15, 30)
UNORDERED_VALUE = 5
STARTS = ((1, 1), (5, 3))

TILE = 48  # render scale: pixels per grid cell
COLORS = {
    FLOOR: "#e8dcc4",
    COUNTER: "#a07850",
    ONIONS: "#c8a040",
    DISHES: "#d0d0d8",
    POT: "#505050",
    SERVE: "#60a060",
}
ITEM_COLORS = {"onion": "#e0c040", "dish": "#ffffff", "soup": "#e07030"}
CHEF_COLORS = ("#3070d0", "#d04040")


class Discrete:
    """The smallest stand-in for gymnasium.spaces.Discrete: n actions, 0..n-1."""

    def __init__(self, n):
        self.n = n


class Kitchen:
    """Two chefs, one kitchen, onion soup."""

    metadata = {"name": "kitchen", "render_modes": ["primitives"]}

    def __init__(self):
        self.possible_agents = ["chef_0", "chef_1"]
        self.agents = list(self.possible_agents)
        self._action_space = Discrete(6)
        self.reset(seed=0)

    def action_space(self, agent):
        return self._action_space

    # --- the contract -------------------------------------------------------------------

    def reset(self, seed=None):
        self.rng = random.Random(seed)
        self.tick = 0
        self.score = 0
        self.delivered = 0
        self.chefs = [
            {"pos": list(STARTS[i]), "facing": DOWN, "holding": None} for i in range(2)
        ]
        # Items lying on counters, keyed "x,y" (string keys: JSON and sorted() agree).
        self.counters = {}
        self.pots = {
            _key(x, y): {"onions": 0, "timer": 0, "ready": False}
            for y, row in enumerate(LAYOUT)
            for x, tile in enumerate(row)
            if tile == POT
        }
        self.orders = []
        self.next_order_in = self.rng.randint(*ORDER_GAP)
        self._add_order()
        return self._observations(), self._infos()

    def step(self, actions):
        rewards = {a: 0 for a in self.possible_agents}
        self._move([actions.get(a, NOOP) for a in self.possible_agents])
        for i, agent in enumerate(self.possible_agents):
            if actions.get(agent, NOOP) == INTERACT:
                gained = self._interact(self.chefs[i])
                for a in rewards:
                    rewards[a] += gained
        self._cook()
        self._update_orders()
        self.tick += 1
        over = self.tick >= HORIZON
        terminateds = {a: False for a in self.possible_agents}
        truncateds = {a: over for a in self.possible_agents}
        return self._observations(), rewards, terminateds, truncateds, self._infos()

    def get_state(self):
        version, internal, gauss = self.rng.getstate()
        return {
            "tick": self.tick,
            "score": self.score,
            "delivered": self.delivered,
            "chefs": [
                {"pos": list(c["pos"]), "facing": c["facing"], "holding": c["holding"]}
                for c in self.chefs
            ],
            "counters": dict(self.counters),
            "pots": {k: dict(p) for k, p in self.pots.items()},
            "orders": [dict(o) for o in self.orders],
            "next_order_in": self.next_order_in,
            "rng": [version, list(internal), gauss],
        }

    def set_state(self, state):
        self.tick = state["tick"]
        self.score = state["score"]
        self.delivered = state["delivered"]
        self.chefs = [
            {"pos": list(c["pos"]), "facing": c["facing"], "holding": c["holding"]}
            for c in state["chefs"]
        ]
        self.counters = dict(state["counters"])
        self.pots = {k: dict(p) for k, p in state["pots"].items()}
        self.orders = [dict(o) for o in state["orders"]]
        self.next_order_in = state["next_order_in"]
        version, internal, gauss = state["rng"]
        self.rng.setstate((version, tuple(internal), gauss))

    def render(self):
        out = [{"type": "rect", "x": 0, "y": 0, "w": WIDTH * TILE, "h": HEIGHT * TILE + 24,
                "color": "#202020"}]
        for y, row in enumerate(LAYOUT):
            for x, tile in enumerate(row):
                out.append({"type": "rect", "x": x * TILE, "y": y * TILE, "w": TILE, "h": TILE,
                            "color": COLORS[tile], "stroke": "#303030"})
                cx, cy = x * TILE + TILE // 2, y * TILE + TILE // 2
                if tile == ONIONS:
                    out.append({"type": "circle", "x": cx, "y": cy, "r": TILE // 4,
                                "color": ITEM_COLORS["onion"]})
                elif tile == DISHES:
                    out.append({"type": "circle", "x": cx, "y": cy, "r": TILE // 3,
                                "color": ITEM_COLORS["dish"]})
                elif tile == SERVE:
                    out.append({"type": "text", "x": cx, "y": cy, "text": "serve",
                                "color": "#ffffff", "size": 11})
                elif tile == POT:
                    pot = self.pots[_key(x, y)]
                    color = "#e07030" if pot["ready"] else ("#a04020" if pot["timer"] else "#303030")
                    out.append({"type": "circle", "x": cx, "y": cy, "r": TILE * 2 // 5,
                                "color": color})
                    label = "ready" if pot["ready"] else (
                        str(pot["timer"]) if pot["timer"] else f"{pot['onions']}/3")
                    out.append({"type": "text", "x": cx, "y": cy, "text": label,
                                "color": "#ffffff", "size": 12})
        for key in sorted(self.counters):
            x, y = _unkey(key)
            out.append(_item(self.counters[key], x * TILE + TILE // 2, y * TILE + TILE // 2))
        for i, chef in enumerate(self.chefs):
            x, y = chef["pos"]
            cx, cy = x * TILE + TILE // 2, y * TILE + TILE // 2
            out.append({"type": "circle", "x": cx, "y": cy, "r": TILE * 2 // 5,
                        "color": CHEF_COLORS[i]})
            dx, dy = MOVES[chef["facing"]]
            out.append({"type": "line", "x1": cx, "y1": cy, "x2": cx + dx * TILE // 2,
                        "y2": cy + dy * TILE // 2, "color": "#ffffff", "width": 3})
            if chef["holding"] is not None:
                out.append(_item(chef["holding"], cx + TILE // 4, cy - TILE // 4))
        orders = " ".join(f"{o['value']}({o['time_left']})" for o in self.orders)
        out.append({"type": "text", "x": 4, "y": HEIGHT * TILE + 4,
                    "text": f"score {self.score}  orders {orders}", "color": "#ffffff",
                    "size": 14, "align": "left"})
        return out

    # --- rules --------------------------------------------------------------------------

    def _move(self, actions):
        current = [tuple(c["pos"]) for c in self.chefs]
        wanted = list(current)
        for i, action in enumerate(actions):
            if action in MOVES:
                self.chefs[i]["facing"] = action
                dx, dy = MOVES[action]
                x, y = current[i][0] + dx, current[i][1] + dy
                if 0 <= x < WIDTH and 0 <= y < HEIGHT and LAYOUT[y][x] == FLOOR:
                    wanted[i] = (x, y)
        # Chefs that want the same cell, or each other's cells, all stay; then a chef moving
        # into the cell of a chef who stays stays too, until nothing changes.
        n = len(wanted)
        blocked = [
            any(j != i and (wanted[i] == wanted[j] or
                            (wanted[i] == current[j] and wanted[j] == current[i]))
                for j in range(n))
            for i in range(n)
        ]
        for i in range(n):
            if blocked[i]:
                wanted[i] = current[i]
        changed = True
        while changed:
            changed = False
            for i in range(n):
                if wanted[i] != current[i] and any(
                        j != i and wanted[j] == current[j] == wanted[i] for j in range(n)):
                    wanted[i] = current[i]
                    changed = True
        for i, chef in enumerate(self.chefs):
            chef["pos"] = list(wanted[i])

    def _interact(self, chef):
        dx, dy = MOVES[chef["facing"]]
        x, y = chef["pos"][0] + dx, chef["pos"][1] + dy
        if not (0 <= x < WIDTH and 0 <= y < HEIGHT):
            return 0
        tile, key, held = LAYOUT[y][x], _key(x, y), chef["holding"]
        if tile == ONIONS and held is None:
            chef["holding"] = "onion"
        elif tile == DISHES and held is None:
            chef["holding"] = "dish"
        elif tile == COUNTER:
            if held is None and key in self.counters:
                chef["holding"] = self.counters.pop(key)
            elif held is not None and key not in self.counters:
                self.counters[key] = held
                chef["holding"] = None
        elif tile == POT:
            pot = self.pots[key]
            if held == "onion" and pot["onions"] < ONIONS_PER_SOUP:
                pot["onions"] += 1
                chef["holding"] = None
                if pot["onions"] == ONIONS_PER_SOUP:
                    pot["timer"] = COOK_TICKS
            elif held == "dish" and pot["ready"]:
                pot.update(onions=0, timer=0, ready=False)
                chef["holding"] = "soup"
        elif tile == SERVE and held == "soup":
            chef["holding"] = None
            value = self.orders.pop(0)["value"] if self.orders else UNORDERED_VALUE
            self.score += value
            self.delivered += 1
            return value
        return 0

    def _cook(self):
        for key in sorted(self.pots):
            pot = self.pots[key]
            if pot["timer"] > 0:
                pot["timer"] -= 1
                if pot["timer"] == 0:
                    pot["ready"] = True

    def _update_orders(self):
        for order in self.orders:
            order["time_left"] -= 1
        self.orders = [o for o in self.orders if o["time_left"] > 0]
        self.next_order_in -= 1
        if self.next_order_in <= 0:
            self._add_order()
            self.next_order_in = self.rng.randint(*ORDER_GAP)

    def _add_order(self):
        if len(self.orders) < MAX_ORDERS:
            self.orders.append({
                "value": self.rng.randint(*ORDER_VALUE),
                "time_left": self.rng.randint(*ORDER_LIFETIME),
            })

    # --- what agents see ----------------------------------------------------------------

    def _observations(self):
        obs = {}
        for i, agent in enumerate(self.possible_agents):
            me, other = self.chefs[i], self.chefs[1 - i]
            obs[agent] = {
                "pos": list(me["pos"]),
                "facing": FACING_NAMES[me["facing"]],
                "holding": me["holding"],
                "other_pos": list(other["pos"]),
                "other_holding": other["holding"],
                "pots": [[p["onions"], p["timer"], p["ready"]]
                         for _, p in sorted(self.pots.items())],
                "counters": sorted([k, v] for k, v in self.counters.items()),
                "orders": [[o["value"], o["time_left"]] for o in self.orders],
                "tick": self.tick,
            }
        return obs

    def _infos(self):
        return {a: {"score": self.score, "delivered": self.delivered}
                for a in self.possible_agents}


def _key(x, y):
    return f"{x},{y}"


def _unkey(key):
    x, y = key.split(",")
    return int(x), int(y)


def _item(name, cx, cy):
    return {"type": "circle", "x": cx, "y": cy, "r": TILE // 6, "color": ITEM_COLORS[name]}
